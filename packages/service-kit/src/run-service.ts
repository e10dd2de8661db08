import assert from 'node:assert/strict';
import type { Logger } from '@afc/log';
import closeWithGrace from 'close-with-grace';
import type { Service } from './create-service.ts';
import { ShutdownTimeoutError } from './errors.ts';

export interface RunServiceOptions {
  // Builds the app with its dependencies registered (see README "Shutdown order").
  readonly build: () => Promise<Service>;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  // From the first signal to the last client closed. Past it the process exits 1: the
  // orchestrator's kill grace period (Kubernetes: 30 s) must be longer.
  readonly shutdown_timeout_ms: number;
}

export interface RunningService {
  readonly app: Service;
  // As Fastify reports it, e.g. http://127.0.0.1:3000 (the real port when port was 0).
  readonly address: string;
  // Shuts down as a signal would, within shutdown_timeout_ms, but leaves the process running
  // and its exit code alone: for tests and for tools that embed a service.
  close(): Promise<void>;
}

export async function closeWithin(app: Service, shutdown_timeout_ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ShutdownTimeoutError(shutdown_timeout_ms)), shutdown_timeout_ms);
  });
  try {
    await Promise.race([app.close(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

// close-with-grace reports second signals and failures through a console-like logger.
function graceLogger(logger: Logger): closeWithGrace.Logger {
  return {
    error: (message: unknown) => {
      if (message instanceof Error) logger.error({ err: message }, 'shutdown failed');
      else logger.error({ detail: String(message) }, 'shutdown');
    },
  };
}

// SIGINT/SIGTERM close the app (Fastify stops accepting, finishes in-flight requests, then runs
// onClose hooks in reverse registration order) and exit 0. An uncaught exception or unhandled
// rejection closes the same way and exits 1. A shutdown past the deadline exits 1.
function handleShutdown(app: Service, options: RunServiceOptions) {
  const { logger, shutdown_timeout_ms } = options;
  return closeWithGrace(
    {
      delay: shutdown_timeout_ms,
      logger: graceLogger(logger),
      onTimeout: () => logger.fatal({ shutdown_timeout_ms }, 'shutdown deadline exceeded, exiting'),
      onSecondSignal: (signal) => logger.fatal({ signal }, 'second signal during shutdown, exiting'),
      onSecondError: (err) => logger.fatal({ err }, 'second uncaught error during shutdown, exiting'),
    },
    async ({ signal, err }) => {
      if (err !== undefined) logger.fatal({ err }, 'uncaught error, shutting down');
      else logger.info({ signal: signal ?? 'exit' }, 'shutting down');
      await app.close();
      logger.info('shutdown complete');
    },
  );
}

// The whole of a service's server.ts: build, listen, and shut down gracefully.
export async function runService(options: RunServiceOptions): Promise<RunningService> {
  const { logger, shutdown_timeout_ms } = options;
  assert.ok(Number.isInteger(shutdown_timeout_ms) && shutdown_timeout_ms > 0, 'shutdown_timeout_ms > 0');
  const app = await options.build().catch((error: unknown) => {
    logger.fatal({ err: error }, 'could not build the service');
    throw error;
  });
  let address: string;
  try {
    address = await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    logger.fatal({ err: error, host: options.host, port: options.port }, 'could not listen');
    await closeWithin(app, shutdown_timeout_ms);
    throw error;
  }
  logger.info({ address }, 'listening');
  const grace = handleShutdown(app, options);
  return {
    app,
    address,
    close: async () => {
      grace.uninstall();
      logger.info('shutting down');
      await closeWithin(app, shutdown_timeout_ms);
      logger.info('shutdown complete');
    },
  };
}
