export {
  type CacheKind,
  cache_ttl_s,
  cacheGetJson,
  cacheInvalidate,
  cacheKey,
  cacheSetJson,
} from './cache.ts';
export { type ClockSkew, clockSkewOf, type NodeClockSkew, readClockSkew } from './clock-skew.ts';
export {
  type CreateRedisOptions,
  closeRedis,
  createRedis,
  duplicateRedis,
  masterNodes,
  type RedisClient,
  type RedisHealth,
  redisHealth,
  waitReady,
} from './create-redis.ts';
export {
  AfcRedisError,
  type RedisErrorCode,
  RedisKeyError,
  RedisScriptError,
  RedisTimeoutError,
  redis_error_codes,
} from './errors.ts';
export {
  assertToken,
  type CounterWindow,
  type CounterWindowInfo,
  counter_grace_ms,
  counterWindow,
  default_partitions,
  fnv1a32,
  hashTag,
  outboxKey,
  partitionOf,
  type UserKeyspace,
  userKeyspace,
} from './keys.ts';
export { reconnect_base_delay_ms, reconnect_max_delay_ms, reconnectDelayMs } from './reconnect.ts';
export {
  type AnyScriptSpec,
  defineScript,
  defineScripts,
  type KeyTuple,
  lua_directory,
  type ScriptArgument,
  type ScriptFunction,
  type ScriptSource,
  type ScriptSpec,
  type Scripts,
} from './scripts.ts';
export { coalesceTurnWrites } from './turn-writes.ts';
export {
  type CoreScripts,
  core_scripts,
  type DocumentStorage,
  toHashFields,
  type VersionedDocument,
  type WriteIfNewerInput,
  type WriteIfNewerResult,
  write_if_newer,
} from './write-if-newer.ts';
