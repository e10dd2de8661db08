export { type ConfigRow, describeConfig, renderConfigTable, secret_default_text } from './describe-config.ts';
export { ConfigError, type ConfigErrorCode, config_error_codes, InvalidConfigError } from './errors.ts';
export { default_shed_event_loop_delay_ms, log_levels } from './fragments.ts';
export { type ConfigIssue, type ConfigIssueCode, config_issue_codes, formatConfigIssues } from './issues.ts';
export {
  type ConfigResult,
  config_exit_code,
  type Env,
  loadConfig,
  loadConfigOrExit,
  loadConfigOrThrow,
} from './load-config.ts';
export { localDefaultSecrets } from './local-default-secrets.ts';
export {
  type ApiConfig,
  type AuthorizerConfig,
  apiConfigSchema,
  authorizerConfigSchema,
  type CardIssuerConfig,
  cardIssuerConfigSchema,
  type MarqetaSimConfig,
  type MigrateConfig,
  marqetaSimConfigSchema,
  migrateConfigSchema,
  type SettlementConfig,
  service_config_schemas,
  settlementConfigSchema,
  type WebhooksConfig,
  webhooksConfigSchema,
} from './schemas.ts';
