import type { Dispatcher } from 'undici';
import { transportFailureOf } from './retry.ts';

export interface AttemptRequest {
  readonly origin: string;
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  // Bounds the whole attempt, answer body included: undici's headers and body timeouts are
  // idle timeouts, and a trickling answer would pass both.
  readonly request_timeout_ms: number;
  readonly max_response_bytes: number;
}

export type AttemptResult =
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly headers: Record<string, string | string[] | undefined>;
      readonly text: string;
    }
  | { readonly kind: 'oversize'; readonly status: number }
  | { readonly kind: 'timeout' | 'network'; readonly cause: unknown };

// One HTTP exchange, its answer read whole (bounded). Transport failures are values so that the
// retry loop decides; anything else (a bug, a misuse of undici) is thrown.
export async function attempt(dispatcher: Dispatcher, request: AttemptRequest): Promise<AttemptResult> {
  const controller = new AbortController();
  let timed_out = false;
  const timer = setTimeout(() => {
    timed_out = true;
    controller.abort();
  }, request.request_timeout_ms);
  try {
    const response = await dispatcher.request({
      origin: request.origin,
      method: request.method,
      path: request.path,
      headers: request.headers,
      body: request.body ?? null,
      signal: controller.signal,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > request.max_response_bytes) {
        response.body.destroy();
        return { kind: 'oversize', status: response.statusCode };
      }
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    return { kind: 'answer', status: response.statusCode, headers: response.headers, text };
  } catch (error) {
    if (timed_out) return { kind: 'timeout', cause: error };
    if ((error as { code?: unknown }).code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
      return { kind: 'oversize', status: 0 };
    }
    const failure = transportFailureOf(error);
    if (failure === undefined) throw error;
    return { kind: failure, cause: error };
  } finally {
    clearTimeout(timer);
  }
}
