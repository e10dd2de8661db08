#!/usr/bin/env node
// The simulator as a process: node --conditions=@afc/source tools/marqeta-sim/src/server.ts
import { createLogger } from '@afc/log';
import { buildMarqetaSim } from './build-marqeta-sim.ts';
import type { MarqetaSimOptions } from './options.ts';

const log_levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof log_levels)[number];
const shutdown_deadline_ms = 10_000;

// Fails fast, naming every bad variable at once.
function readEnvironment(env: NodeJS.ProcessEnv) {
  const problems: string[] = [];
  const number = (name: string, fallback: number, valid: (value: number) => boolean): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || !valid(value)) problems.push(`${name}=${raw} is not valid`);
    return value;
  };
  const level = (env.LOG_LEVEL ?? 'info') as LogLevel;
  if (!log_levels.includes(level)) problems.push(`LOG_LEVEL=${level} is not one of ${log_levels.join(', ')}`);
  const config = {
    host: env.HOST ?? '127.0.0.1',
    port: number('PORT', 4010, (value) => Number.isInteger(value) && value >= 0 && value < 65_536),
    log_level: level,
    options: {
      // Local development defaults: the simulator guards nothing of value.
      application_token: env.MARQETA_SIM_APPLICATION_TOKEN ?? 'sim-application-token',
      admin_access_token: env.MARQETA_SIM_ADMIN_ACCESS_TOKEN ?? 'sim-admin-access-token',
      seed: number('MARQETA_SIM_SEED', 1, Number.isSafeInteger),
      jit_timeout_ms: number('MARQETA_SIM_JIT_TIMEOUT_MS', 3_000, (value) => value > 0),
      webhook_delay_factor: number('MARQETA_SIM_WEBHOOK_DELAY_FACTOR', 1, (value) => value >= 0),
      duplicate_webhook_rate: number(
        'MARQETA_SIM_DUPLICATE_WEBHOOK_RATE',
        0,
        (value) => value >= 0 && value <= 1,
      ),
    } satisfies Omit<MarqetaSimOptions, 'logger'>,
  };
  return { config, problems };
}

const { config, problems } = readEnvironment(process.env);
const logger = createLogger({ name: 'marqeta-sim', level: config.log_level });
if (problems.length > 0) {
  logger.fatal({ problems }, 'bad environment');
  process.exit(1);
}
const sim = buildMarqetaSim({ ...config.options, logger });
const origin = await sim.listen({ host: config.host, port: config.port });
logger.info({ url: `${origin}/v3`, seed: config.options.seed }, 'marqeta-sim listening');

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  const deadline = setTimeout(() => {
    logger.error('shutdown deadline passed');
    process.exit(1);
  }, shutdown_deadline_ms);
  deadline.unref();
  await sim.close();
  process.exit(0);
}
process.once('SIGINT', () => void stop('SIGINT'));
process.once('SIGTERM', () => void stop('SIGTERM'));
