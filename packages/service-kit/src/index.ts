export {
  type CommandReport,
  integerOption,
  parseCommandLine,
  runOperationsCommand,
  table,
} from './command-line.ts';
export { createService, type Service, type ServiceOptions } from './create-service.ts';
export { describeValidation, errorHandlerPlugin } from './error-handler-plugin.ts';
export {
  ReadinessCheckTimeoutError,
  ServiceKitError,
  type ServiceKitErrorCode,
  ShutdownTimeoutError,
  service_kit_error_codes,
} from './errors.ts';
export { type AmqpPluginOptions, amqpPlugin } from './infrastructure/amqp-plugin.ts';
export {
  type AmqpEnvironment,
  amqpOptions,
  type PostgresEnvironment,
  postgresOptions,
  type RedisEnvironment,
  redisOptions,
} from './infrastructure/options-from-config.ts';
export {
  type PersonalStorePluginOptions,
  personalStorePlugin,
} from './infrastructure/personal-store-plugin.ts';
export { type PostgresPluginOptions, postgresPlugin } from './infrastructure/postgres-plugin.ts';
export { type RedisPluginOptions, redisPlugin } from './infrastructure/redis-plugin.ts';
export {
  type InfrastructureEnvironment,
  type InfrastructureOptions,
  registerInfrastructure,
} from './infrastructure/register-infrastructure.ts';
export { ServiceLogController } from './log-controller.ts';
export {
  http_duration_buckets_s,
  type MetricsOptions,
  metricsPlugin,
  type ServiceMetrics,
} from './metrics-plugin.ts';
export { type PeriodicTask, type PeriodicTaskOptions, startPeriodicTask } from './periodic-task.ts';
export {
  type DependencyReport,
  type DependencyStatus,
  Readiness,
  type ReadinessCheck,
  type ReadinessCheckOptions,
  type ReadinessReport,
  type ReadinessStatus,
} from './readiness.ts';
export { type ReadinessOptions, readinessPlugin } from './readiness-plugin.ts';
export { genReqId, isSaneRequestId, request_id_header } from './request-id.ts';
export { closeWithin, type RunningService, type RunServiceOptions, runService } from './run-service.ts';
export {
  ignorePressure,
  type PressureHandler,
  type UnderPressureOptions,
  underPressurePlugin,
  underPressureSettings,
} from './under-pressure-plugin.ts';
