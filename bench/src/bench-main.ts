import { createLogger, type Logger } from '@afc/log';
import { Cleanup } from './isolation.ts';

// A benchmark process's frame: its log on stderr, cleanup on success, failure and SIGINT/SIGTERM,
// and one summary line on stdout.
export async function benchMain(
  level: 'info' | 'warn' | 'error',
  run: (logger: Logger, cleanup: Cleanup) => Promise<string>,
): Promise<void> {
  const logger = createLogger({ name: 'bench', level, destination: process.stderr });
  const cleanup = new Cleanup(logger);
  const onSignal = (signal: NodeJS.Signals) => {
    logger.warn({ signal }, 'bench: interrupted, cleaning up');
    void cleanup.runAll(20_000).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let line: string | undefined;
  try {
    line = await run(logger, cleanup);
  } catch (error) {
    logger.error({ err: error }, 'bench: failed');
    process.exitCode = 1;
  } finally {
    await cleanup.runAll(20_000);
  }
  if (line !== undefined) process.stdout.write(`${line}\n`);
}
