export {
  createLogger,
  type Logger,
  type LoggerOptions,
  redacted_placeholder,
  withMessageId,
  withRequestId,
} from './create-logger.ts';
export { logLimiter } from './log-limiter.ts';
export { redactSecrets, redactUrl, secret_keys } from './redaction.ts';
