import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@afc/log';
import { createService, type Service, type ServiceOptions } from '../src/index.ts';

export interface CapturedLogger {
  readonly logger: Logger;
  readonly lines: () => Record<string, unknown>[];
  readonly raw: () => string;
}

// Every line the logger writes, as written: tests assert on what really reaches the output.
export function captureLogger(name = 'service-kit-test'): CapturedLogger {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({ name, destination });
  const raw = () => chunks.join('');
  const lines = () =>
    raw()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, raw };
}

export async function testService(
  overrides: Partial<ServiceOptions> = {},
): Promise<{ app: Service } & CapturedLogger> {
  const captured = captureLogger(overrides.name);
  const app = await createService({
    name: 'unit',
    logger: captured.logger,
    body_limit_bytes: 16_384,
    ...overrides,
  });
  return { app, ...captured };
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
}

export function deferred<T = void>(): Deferred<T> {
  const { promise, resolve } = Promise.withResolvers<T>();
  return { promise, resolve };
}
