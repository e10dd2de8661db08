import { setTimeout as sleep } from 'node:timers/promises';
import { type Dispatcher, request } from 'undici';

export interface OutboundRequest {
  readonly url: string;
  readonly username: string;
  readonly password: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeout_ms: number;
  // Waited inside the timeout, like a slow network.
  readonly latency_ms?: number;
  readonly max_response_bytes: number;
}

export interface OutboundResult {
  readonly duration_ms: number;
  readonly timed_out: boolean;
  readonly status_code?: number;
  // The answer's body, cut at max_response_bytes.
  readonly body?: string;
  readonly error?: string;
}

export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

// One POST of JSON with Basic auth and a total deadline (connect, headers and body). Never
// throws: a timeout or a connection error is an outcome the caller records.
export async function postJson(dispatcher: Dispatcher, out: OutboundRequest): Promise<OutboundResult> {
  const started = performance.now();
  const signal = AbortSignal.timeout(out.timeout_ms);
  const elapsed = () => Math.round(performance.now() - started);
  try {
    if (out.latency_ms !== undefined && out.latency_ms > 0)
      await sleep(out.latency_ms, undefined, { signal });
    const response = await request(out.url, {
      method: 'POST',
      dispatcher,
      signal,
      headers: {
        ...out.headers,
        'content-type': 'application/json',
        authorization: basicAuth(out.username, out.password),
      },
      body: out.body,
    });
    const body = await readLimited(response.body, out.max_response_bytes);
    return { duration_ms: elapsed(), timed_out: false, status_code: response.statusCode, body };
  } catch (error) {
    const timed_out = signal.aborted;
    const message = timed_out ? 'timed out' : describe(error);
    return { duration_ms: elapsed(), timed_out, error: message };
  }
}

async function readLimited(body: AsyncIterable<Buffer> & { destroy(): void }, max_bytes: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max_bytes) {
      // A gateway that answers megabytes gets its answer cut: what we keep is unparseable.
      chunks.push(chunk.subarray(0, Math.max(0, max_bytes - (size - chunk.length))));
      body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
