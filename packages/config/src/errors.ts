import type { ConfigIssue } from './issues.ts';

export const config_error_codes = {
  invalid: 'AFC_CONFIG_INVALID',
} as const;

export type ConfigErrorCode = (typeof config_error_codes)[keyof typeof config_error_codes];

// Matched by `code`, never by message.
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;

  constructor(code: ConfigErrorCode, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.code = code;
  }
}

// Thrown only by the throwing convenience wrapper; loadConfig returns issues as values.
export class InvalidConfigError extends ConfigError {
  readonly issues: readonly ConfigIssue[];

  constructor(message: string, issues: readonly ConfigIssue[]) {
    super(config_error_codes.invalid, message);
    this.name = 'InvalidConfigError';
    this.issues = issues;
  }
}
