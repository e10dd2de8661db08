import { createLogger, type Logger } from '@afc/log';
import { MarqetaClient, type MarqetaClientOptions, type MarqetaClock } from '../src/index.ts';

export const credentials = {
  application_token: 'app-token-7f3c2a',
  admin_access_token: 'admin-secret-9b8e4d1c',
} as const;

// Time that tests move by hand: sleep returns at once, records the delay, moves `now` on, and
// runs `onSleep` (a test changes the world between two attempts there).
export interface FakeClock extends MarqetaClock {
  now_ms: number;
  readonly sleeps: number[];
  onSleep: (() => void | Promise<void>) | undefined;
}

export function fakeClock(start_ms = 1_767_225_600_000): FakeClock {
  const clock: FakeClock = {
    now_ms: start_ms,
    sleeps: [],
    onSleep: undefined,
    now: () => clock.now_ms,
    async sleep(delay_ms) {
      clock.sleeps.push(delay_ms);
      clock.now_ms += delay_ms;
      await clock.onSleep?.();
    },
  };
  return clock;
}

export interface CapturedLogger {
  readonly logger: Logger;
  readonly lines: string[];
  text(): string;
}

// Every level, kept in memory: what the client logs is what a test inspects.
export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  const logger = createLogger({
    name: 'marqeta-client-test',
    level: 'trace',
    destination: { write: (line: string) => void lines.push(line) },
  });
  return { logger, lines, text: () => lines.join('') };
}

export function logMessages(captured: CapturedLogger, msg: string): Record<string, unknown>[] {
  return captured.lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.msg === msg);
}

export interface TestClient {
  readonly client: MarqetaClient;
  readonly clock: FakeClock;
  readonly log: CapturedLogger;
}

// A client with a fake clock, a captured log and small bounds; a test overrides what it needs.
export function testClient(base_url: string, overrides: Partial<MarqetaClientOptions> = {}): TestClient {
  const clock = fakeClock();
  const log = captureLogger();
  const client = new MarqetaClient({
    base_url,
    ...credentials,
    logger: log.logger,
    clock,
    connections: 4,
    connect_timeout_ms: 2_000,
    headers_timeout_ms: 5_000,
    body_timeout_ms: 5_000,
    request_timeout_ms: 10_000,
    ...overrides,
  });
  return { client, clock, log };
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}
