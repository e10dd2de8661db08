// JSON over HTTP for the seed and the demo: every call bounded in time, answers returned as
// values (status and body) so that the caller decides what a 404 or a 409 means.
const default_timeout_ms = 10_000;

export interface JsonAnswer {
  readonly status: number;
  // Parsed JSON, or the text when the body is not JSON.
  readonly body: unknown;
}

export class HttpCallError extends Error {
  readonly code = 'AFC_DEV_HTTP';
}

export interface CallOptions {
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  readonly timeout_ms?: number;
}

export async function callJson(method: string, url: string, options: CallOptions = {}): Promise<JsonAnswer> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(options.timeout_ms ?? default_timeout_ms),
    });
  } catch (error) {
    throw new HttpCallError(`${method} ${url}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Not JSON: the text is the answer.
  }
  return { status: response.status, body };
}

// A call whose only acceptable answers are the listed statuses.
export async function expectStatus<T>(
  method: string,
  url: string,
  statuses: readonly number[],
  options: CallOptions = {},
): Promise<T> {
  const answer = await callJson(method, url, options);
  if (!statuses.includes(answer.status)) {
    const shown = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    throw new HttpCallError(`${method} ${new URL(url).pathname}: ${answer.status} ${shown?.slice(0, 500)}`);
  }
  return answer.body as T;
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
export const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

// Polls until check answers true, at most timeout_ms, a growing pause between tries.
export async function pollUntil(
  what: string,
  check: () => Promise<boolean>,
  timeout_ms: number,
): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  let pause_ms = 50;
  for (;;) {
    if (await check()) return;
    if (Date.now() + pause_ms > deadline)
      throw new HttpCallError(`timed out after ${timeout_ms} ms: ${what}`);
    // Jitter: several pollers of one service do not ask in step.
    await new Promise((resolve) => setTimeout(resolve, pause_ms * (0.8 + Math.random() * 0.4)));
    pause_ms = Math.min(pause_ms * 2, 1_000);
  }
}
