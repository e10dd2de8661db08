import { Writable } from 'node:stream';

export interface CapturedLogs {
  // One JSON line per entry, as the logger wrote it.
  readonly lines: string[];
  readonly destination: Writable;
}

// A logger destination for tests: what a service logged, to assert on (never a secret in it).
export function captureLogs(): CapturedLogs {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, destination };
}
