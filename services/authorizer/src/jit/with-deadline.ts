export type DeadlineResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: 'timeout' }
  | { readonly ok: false; readonly reason: 'error'; readonly error: unknown };

// Settles by the deadline whatever the work does; the work itself is not cancelled (a Redis
// script cannot be), which is why a timed-out decision is followed by a release.
export async function withDeadline<T>(work: Promise<T>, deadline_at_ms: number): Promise<DeadlineResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<DeadlineResult<T>>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, reason: 'timeout' }),
      Math.max(0, deadline_at_ms - Date.now()),
    );
  });
  const settled = work.then(
    (value): DeadlineResult<T> => ({ ok: true, value }),
    (error: unknown): DeadlineResult<T> => ({ ok: false, reason: 'error', error }),
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
