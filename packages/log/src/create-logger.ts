import { randomUUID } from 'node:crypto';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import { redactionPaths } from './redaction.ts';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly name: string;
  readonly level?: Level | 'silent';
  // Tests capture output here; processes write to stdout.
  readonly destination?: DestinationStream;
  readonly base?: Record<string, unknown>;
}

export const redacted_placeholder = '[redacted]';

export function createLogger(options: LoggerOptions): Logger {
  const logger_options = {
    name: options.name,
    level: options.level ?? 'info',
    base: { service: options.name, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Field names in the output stay as logged; values of secrets are replaced, never removed,
    // so a reader can see that something was there.
    redact: { paths: redactionPaths(), censor: redacted_placeholder },
    formatters: { level: (label: string) => ({ level: label }) },
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
  };
  return options.destination ? pino(logger_options, options.destination) : pino(logger_options);
}

// A child for one request or message: every line it writes carries the id.
export function withRequestId(logger: Logger, request_id?: string): Logger {
  return logger.child({ request_id: request_id ?? randomUUID() });
}

export function withMessageId(logger: Logger, message_id: string): Logger {
  return logger.child({ message_id });
}
