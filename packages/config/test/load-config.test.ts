import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import {
  authorizerConfigSchema,
  type ConfigIssue,
  config_error_codes,
  config_exit_code,
  config_issue_codes,
  type Env,
  formatConfigIssues,
  InvalidConfigError,
  loadConfig,
  loadConfigOrThrow,
  migrateConfigSchema,
  service_config_schemas,
  webhooksConfigSchema,
} from '../src/index.ts';

function issuesOf(schema: Parameters<typeof loadConfig>[0], env: Env): readonly ConfigIssue[] {
  const result = loadConfig(schema, env);
  if (result.ok) throw new Error(`expected issues for ${JSON.stringify(env)}`);
  return result.errors;
}

describe('loadConfig defaults', () => {
  it('loads every service from an empty environment', () => {
    const ports: Record<string, number> = {};
    for (const [service, schema] of Object.entries(service_config_schemas)) {
      const result = loadConfig(schema, {});
      expect(result.ok, service).toBe(true);
      if (result.ok && 'PORT' in result.config) ports[service] = result.config.PORT;
    }
    expect(ports).toEqual({
      api: 3000,
      authorizer: 3001,
      webhooks: 3002,
      settlement: 3003,
      'card-issuer': 3004,
      'marqeta-sim': 4010,
    });
  });

  it('gives the authorizer its local defaults, typed', () => {
    const config = loadConfigOrThrow(authorizerConfigSchema, 'authorizer', {});
    expect(config).toMatchObject({
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/atlanticfrewaycard',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: 'afc:',
      REDIS_COMMAND_TIMEOUT_MS: 100,
      REDIS_PARTITIONS: 64,
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      PG_POOL_MAX: 20,
      DECISION_DEADLINE_MS: 250,
      JIT_BASIC_USERNAME: 'afc-jit',
      REFUND_BUSINESS_MODE: 'counters_unchanged',
    });
    expect(config.JIT_BASIC_PASSWORD.length).toBeGreaterThanOrEqual(20);
    // Unset optional variables stay absent: MONGODB_URI unset selects the PostgreSQL store.
    expect('MONGODB_URI' in config).toBe(false);
    expect('JIT_CUSTOM_HEADER_NAME' in config).toBe(false);
  });

  it('reads only its own variables and treats empty values as unset', () => {
    const config = loadConfigOrThrow(migrateConfigSchema, 'migrate', {
      PG_POOL_MAX: '',
      PORT: '1',
      PATH: '/bin',
    });
    expect(config.PG_POOL_MAX).toBe(20);
    expect(Object.keys(config).sort()).toEqual(Object.keys(migrateConfigSchema.properties).sort());
  });
});

describe('loadConfig conversion', () => {
  it('converts integers and keeps text and enums as given', () => {
    const config = loadConfigOrThrow(authorizerConfigSchema, 'authorizer', {
      PORT: '0',
      PG_POOL_MAX: '7',
      DECISION_DEADLINE_MS: '2500',
      REDIS_PARTITIONS: '16384',
      LOG_LEVEL: 'silent',
      REFUND_BUSINESS_MODE: 'restore_counters',
      MONGODB_URI: 'mongodb://user:pw@db1:27017,db2:27017/afc?replicaSet=rs0',
      REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7001',
      AMQP_URL: 'amqps://app:pw@rabbit.internal:5671/vhost',
    });
    expect(config).toMatchObject({
      PORT: 0,
      PG_POOL_MAX: 7,
      DECISION_DEADLINE_MS: 2500,
      REDIS_PARTITIONS: 16384,
    });
    expect(config.LOG_LEVEL).toBe('silent');
    expect(config.REFUND_BUSINESS_MODE).toBe('restore_counters');
    expect(config.MONGODB_URI).toBe('mongodb://user:pw@db1:27017,db2:27017/afc?replicaSet=rs0');
    expect(config.REDIS_CLUSTER_NODES).toBe('10.0.0.1:7000,10.0.0.2:7001');
  });

  it.each([
    ['PORT', 'abc', 'an integer from 0 to 65535'],
    ['PORT', '3000.5', 'an integer from 0 to 65535'],
    ['PORT', '65536', 'an integer from 0 to 65535'],
    ['PORT', '-1', 'an integer from 0 to 65535'],
    ['PG_POOL_MAX', '1e3', 'an integer from 1 to 1000'],
    ['PG_POOL_MAX', '0x10', 'an integer from 1 to 1000'],
    ['PG_POOL_MAX', ' 20', 'an integer from 1 to 1000'],
    ['PG_POOL_MAX', '020', 'an integer from 1 to 1000'],
    ['PG_POOL_MAX', '+20', 'an integer from 1 to 1000'],
    ['PG_POOL_MAX', 'true', 'an integer from 1 to 1000'],
    ['PG_POOL_MAX', '0', 'an integer from 1 to 1000'],
    ['DECISION_DEADLINE_MS', '9', 'an integer from 10 to 2500'],
    ['DECISION_DEADLINE_MS', '2501', 'an integer from 10 to 2500'],
    ['LOG_LEVEL', 'verbose', 'one of fatal, error, warn, info, debug, trace, silent'],
    ['LOG_LEVEL', 'INFO', 'one of fatal, error, warn, info, debug, trace, silent'],
    ['REFUND_BUSINESS_MODE', 'restore', 'one of counters_unchanged, restore_counters'],
    ['DATABASE_URL', 'postgres://db:5432:5432/afc', 'a URL starting with postgres:// or postgresql://'],
    ['DATABASE_URL', 'localhost', 'a URL starting with postgres:// or postgresql://'],
    ['DATABASE_URL', 'mysql://db/afc', 'a URL starting with postgres:// or postgresql://'],
    ['DATABASE_URL', 'postgres://', 'a URL starting with postgres:// or postgresql://'],
    ['REDIS_URL', 'http://127.0.0.1:6379', 'a URL starting with redis:// or rediss://'],
    ['MONGODB_URI', 'http://db:27017', 'a mongodb:// or mongodb+srv:// connection string'],
    ['MONGODB_DB', 'afc.prod', 'a MongoDB database name'],
    ['REDIS_CLUSTER_NODES', 'a:1,,b:2', 'a comma-separated list of host:port'],
    ['REDIS_CLUSTER_NODES', 'redis-1', 'a comma-separated list of host:port'],
    ['REDIS_KEY_PREFIX', 'afc:{x}:', 'no whitespace and no { or }'],
    ['HOST', 'local host', 'a host name or IP address'],
    ['JIT_BASIC_USERNAME', 'a'.repeat(51), 'visible ASCII characters other than : (1 to 50 characters)'],
    ['JIT_BASIC_USERNAME', 'afc:jit', 'visible ASCII characters other than :'],
    ['JIT_CUSTOM_HEADER_NAME', 'X Afc', 'an HTTP header name'],
  ])('rejects %s=%j', (name, value, expected) => {
    const pair = name === 'JIT_CUSTOM_HEADER_NAME' ? { JIT_CUSTOM_HEADER_VALUE: 'v' } : {};
    const issues = issuesOf(authorizerConfigSchema, { [name]: value, ...pair });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: config_issue_codes.invalid_value, name });
    expect(issues[0]?.message).toContain(`expected ${expected}`);
    // An unparseable URL may hide a password: it is not shown at all.
    expect(issues[0]?.value).toBe(name.endsWith('_URL') && !URL.canParse(value) ? undefined : value);
  });

  it('reports a required variable without default as missing', () => {
    const schema = Type.Object({ NEEDED: Type.String({ description: 'needed' }) });
    expect(issuesOf(schema, {})).toEqual([
      { code: config_issue_codes.missing, name: 'NEEDED', message: 'is required but not set' },
    ]);
  });
});

describe('loadConfig with many bad variables', () => {
  const bad = {
    PORT: 'http',
    LOG_LEVEL: 'loud',
    DATABASE_URL: 'postgres//nohost',
    PG_POOL_MAX: '2.5',
    REDIS_PARTITIONS: '0',
    AMQP_PREFETCH: '-3',
    WEBHOOK_SIGNATURE_ALGORITHM: 'md5',
    WEBHOOK_BODY_LIMIT_BYTES: '10',
    WEBHOOK_BASIC_PASSWORD: 'too-short-secret',
  };

  it('names every one of them in one message', () => {
    const issues = issuesOf(webhooksConfigSchema, bad);
    expect(issues.map((issue) => issue.name).sort()).toEqual(Object.keys(bad).sort());
    const message = formatConfigIssues('webhooks', issues);
    const lines = message.split('\n');
    expect(lines[0]).toBe('webhooks: invalid configuration, 9 environment variables are wrong:');
    expect(lines).toHaveLength(10);
    for (const name of Object.keys(bad))
      expect(lines.filter((line) => line.startsWith(`  ${name}: `))).toHaveLength(1);
    expect(message).toContain('  PORT: expected an integer from 0 to 65535 (got "http")');
    expect(message).toContain(
      '  WEBHOOK_BASIC_PASSWORD: expected text of 20 to 100 characters (value not shown)',
    );
    expect(message).not.toContain(bad.WEBHOOK_BASIC_PASSWORD);
  });

  it('throws the same issues from loadConfigOrThrow, matched by code', () => {
    let thrown: unknown;
    try {
      loadConfigOrThrow(webhooksConfigSchema, 'webhooks', bad);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidConfigError);
    const error = thrown as InvalidConfigError;
    expect(error.code).toBe(config_error_codes.invalid);
    expect(error.issues).toHaveLength(9);
    expect(error.message).toBe(formatConfigIssues('webhooks', error.issues));
  });
});

describe('secrets', () => {
  const secret_values = {
    JIT_BASIC_PASSWORD: 'hunter2-secret',
    JIT_CUSTOM_HEADER_VALUE: ' padded-secret-header ',
    AMQP_URL: 'http://app:S3cr3t-amqp-pass@rabbit:5672',
    DATABASE_URL: 'postgres://app:S3cr3t-pg-pass@db:99999/afc',
    MONGODB_URI: 'mongo://app:S3cr3t-mongo-pass@db:27017',
  };

  it('never prints a secret value or a URL password in issues or messages', () => {
    const issues = issuesOf(authorizerConfigSchema, { ...secret_values, JIT_CUSTOM_HEADER_NAME: 'X-Afc' });
    expect(issues.map((issue) => issue.name).sort()).toEqual(Object.keys(secret_values).sort());
    const printed = `${JSON.stringify(issues)}\n${formatConfigIssues('authorizer', issues)}`;
    for (const secret of ['hunter2-secret', 'padded-secret-header', 'S3cr3t-amqp-pass', 'S3cr3t-pg-pass']) {
      expect(printed).not.toContain(secret);
    }
    expect(printed).not.toContain('S3cr3t-mongo-pass');
    // A parseable URL is still shown, password replaced, so the operator sees what is wrong.
    expect(issues.find((issue) => issue.name === 'AMQP_URL')?.value).toBe('http://app:***@rabbit:5672/');
  });
});

describe('JIT custom header, both or neither', () => {
  it('accepts neither and both', () => {
    expect(loadConfig(authorizerConfigSchema, {}).ok).toBe(true);
    const config = loadConfigOrThrow(authorizerConfigSchema, 'authorizer', {
      JIT_CUSTOM_HEADER_NAME: 'X-Afc-Gateway',
      JIT_CUSTOM_HEADER_VALUE: 'shared value 1',
    });
    expect([config.JIT_CUSTOM_HEADER_NAME, config.JIT_CUSTOM_HEADER_VALUE]).toEqual([
      'X-Afc-Gateway',
      'shared value 1',
    ]);
  });

  it('reports the missing partner, among the other issues', () => {
    expect(issuesOf(authorizerConfigSchema, { JIT_CUSTOM_HEADER_NAME: 'X-Afc', PORT: 'x' })).toEqual([
      expect.objectContaining({ name: 'PORT' }),
      {
        code: config_issue_codes.incomplete_group,
        name: 'JIT_CUSTOM_HEADER_VALUE',
        message: 'must be set when JIT_CUSTOM_HEADER_NAME is set',
      },
    ]);
    const issues = issuesOf(authorizerConfigSchema, { JIT_CUSTOM_HEADER_VALUE: 'lonely-secret-value' });
    expect(issues).toEqual([
      {
        code: config_issue_codes.incomplete_group,
        name: 'JIT_CUSTOM_HEADER_NAME',
        message: 'must be set when JIT_CUSTOM_HEADER_VALUE is set',
      },
    ]);
    expect(formatConfigIssues('authorizer', issues)).not.toContain('lonely-secret-value');
  });
});

describe('loadConfigOrExit', () => {
  const fixture = fileURLToPath(new URL('./fixtures/load-or-exit.ts', import.meta.url));

  function run(env: Record<string, string>) {
    return spawnSync(process.execPath, ['--conditions=@afc/source', fixture], { env, encoding: 'utf8' });
  }

  it('exits with 78 and one message on stderr naming every bad variable', () => {
    const child = run({ PORT: 'eighty', LOG_LEVEL: 'chatty', JIT_BASIC_PASSWORD: 'short-exit-secret' });
    expect(child.status).toBe(config_exit_code);
    expect(child.stdout).toBe('');
    expect(child.stderr).toMatch(/^authorizer: invalid configuration, 3 environment variables are wrong:\n/);
    for (const name of ['PORT', 'LOG_LEVEL', 'JIT_BASIC_PASSWORD'])
      expect(child.stderr).toContain(`  ${name}: `);
    expect(child.stderr).not.toContain('short-exit-secret');
  });

  it('returns the config when the environment is good', () => {
    const child = run({ PORT: '4321' });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(child.stdout).toBe('started on port 4321\n');
  });
});
