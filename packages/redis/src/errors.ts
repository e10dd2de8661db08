// The coded errors of @afc/redis. Callers match on `code`, never on the message.
export const redis_error_codes = {
  // A token or key part outside the safe charset: it could break the hash tag or the key layout.
  key: 'AFC_REDIS_KEY',
  // A Lua script failed (its own error reply) or answered in a shape its decoder does not know.
  script: 'AFC_REDIS_SCRIPT',
  // A wait on the client (ready, health) ran past its deadline.
  timeout: 'AFC_REDIS_TIMEOUT',
} as const;

export type RedisErrorCode = (typeof redis_error_codes)[keyof typeof redis_error_codes];

export class AfcRedisError extends Error {
  readonly code: RedisErrorCode;

  constructor(code: RedisErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class RedisKeyError extends AfcRedisError {
  constructor(message: string) {
    super(redis_error_codes.key, message);
  }
}

export class RedisScriptError extends AfcRedisError {
  constructor(message: string, options?: ErrorOptions) {
    super(redis_error_codes.script, message, options);
  }
}

export class RedisTimeoutError extends AfcRedisError {
  constructor(message: string) {
    super(redis_error_codes.timeout, message);
  }
}
