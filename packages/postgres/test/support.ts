import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@afc/log';

export interface CapturedLog {
  readonly logger: Logger;
  readonly lines: Record<string, unknown>[];
  // Everything written, raw: for "this value never reached the log" assertions.
  text(): string;
}

// A logger whose JSON lines land in memory; on_line lets a test act at the moment a line is
// written (pino writes synchronously to this destination).
export function captureLog(on_line: (line: Record<string, unknown>) => void = () => {}): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      const text = String(chunk);
      raw.push(text);
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      on_line(line);
      callback();
    },
  });
  return {
    logger: createLogger({ name: 'postgres-test', level: 'debug', destination }),
    lines,
    text: () => raw.join(''),
  };
}

export function silentLogger(): Logger {
  return createLogger({ name: 'postgres-test', level: 'silent' });
}
