import { createLogger } from '@afc/log';
import { captureLogs, waitUntil } from '@afc/testkit';
import { describe, expect, it } from 'vitest';
import { startPeriodicTask } from '../src/index.ts';

describe('startPeriodicTask', () => {
  it('runs one at a time, goes on at once while a run says again, logs a failure and keeps going', async () => {
    const { lines, destination } = captureLogs();
    const logger = createLogger({ name: 'periodic-test', level: 'info', destination });
    let runs = 0;
    let active = 0;
    let overlapped = false;
    const task = startPeriodicTask({
      name: 'test.task',
      interval_ms: 1,
      jitter_ratio: 0.5,
      logger,
      run: async () => {
        runs += 1;
        active += 1;
        overlapped ||= active > 1;
        await new Promise((resolve) => setImmediate(resolve));
        active -= 1;
        if (runs === 2) throw new Error('run two failed');
        return { again: runs < 5 };
      },
    });
    await waitUntil(() => runs >= 6, { message: 'six runs' });
    await task.stop(5_000);
    const after_stop = runs;
    expect(overlapped).toBe(false);
    expect(
      lines.some((line) => line.includes('"event":"test.task_failed"') && line.includes('run two failed')),
    ).toBe(true);
    // Stopped: nothing more is scheduled.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(runs).toBe(after_stop);
  });

  it('stop waits for the run in progress, which sees it is stopping', async () => {
    const logger = createLogger({ name: 'periodic-test', level: 'silent' });
    let release: () => void = () => undefined;
    let saw_stopping = false;
    let started = false;
    const task = startPeriodicTask({
      name: 'test.slow',
      interval_ms: 1,
      jitter_ratio: 0,
      logger,
      run: async (stopping) => {
        started = true;
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        saw_stopping = stopping();
        return { again: true };
      },
    });
    await waitUntil(() => started, { message: 'the run started' });
    let stopped = false;
    const stopping = task.stop(60_000).then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(saw_stopping).toBe(true);
  });

  it('stop waits at most its timeout for a run that does not end', async () => {
    const logger = createLogger({ name: 'periodic-test', level: 'silent' });
    let started = false;
    let release: () => void = () => undefined;
    const task = startPeriodicTask({
      name: 'test.stuck',
      interval_ms: 1,
      jitter_ratio: 0,
      logger,
      run: async () => {
        started = true;
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return { again: false };
      },
    });
    await waitUntil(() => started, { message: 'the run started' });
    await task.stop(10);
    // Stopped while the run still waits: it was left to finish on its own.
    release();
  });

  it('refuses a bad interval or jitter', () => {
    const logger = createLogger({ name: 'periodic-test', level: 'silent' });
    const run = async () => ({ again: false });
    expect(() => startPeriodicTask({ name: 't', interval_ms: 0, jitter_ratio: 0, logger, run })).toThrow();
    expect(() => startPeriodicTask({ name: 't', interval_ms: 1, jitter_ratio: 1, logger, run })).toThrow();
  });
});
