import { setTimeout as sleep } from 'node:timers/promises';

export interface Sampled<R, S> {
  readonly result: R;
  readonly samples: S[];
  readonly sample_failures: number;
}

// Samples every interval_ms while `work` runs. The sampler stops and is awaited however the
// work ends: a work that throws must not leave it looping, which would keep the process alive.
// A failed sample is counted, not thrown.
export async function sampleDuring<R, S>(
  work: () => Promise<R>,
  sample: () => Promise<S>,
  interval_ms: number,
): Promise<Sampled<R, S>> {
  const samples: S[] = [];
  let sample_failures = 0;
  const stop = new AbortController();
  const sampler = (async () => {
    while (!stop.signal.aborted) {
      await sample().then(
        (value) => samples.push(value),
        () => (sample_failures += 1),
      );
      // The abort ends the wait at once rather than up to interval_ms later.
      await sleep(interval_ms, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  })();
  let result: R;
  try {
    result = await work();
  } finally {
    stop.abort();
    await sampler;
  }
  return { result, samples, sample_failures };
}
