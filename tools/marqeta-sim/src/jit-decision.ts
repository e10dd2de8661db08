import type { OutboundResult } from './http-out.ts';
import type { GatewayLog } from './state.ts';

export interface JitOutcome {
  readonly approved: boolean;
  readonly timed_out: boolean;
  readonly response_code: string;
  readonly memo: string;
  // The gateway's jit_funding answer, when it gave a parseable one.
  readonly answer?: Record<string, unknown>;
  readonly gateway_log: GatewayLog;
}

export const response_codes = {
  approved: '0000',
  card_suspended: '1003',
  insufficient_funds: '1016',
  card_not_active: '1806',
  // Unconfirmed: Marqeta documents no dedicated code for a JIT timeout or an unusable answer.
  jit_failure: '1899',
} as const;

// Marqeta maps the gateway's decline_reason to a transaction response code; unlisted reasons
// fall back to "transaction not permitted".
const decline_codes: Readonly<Record<string, string>> = {
  INVALID_AMOUNT: '1883',
  INSUFFICIENT_FUNDS: '1884',
  TRANSACTION_NOT_PERMITTED: '1885',
  SUSPECTED_FRAUD: '1886',
  AMOUNT_LIMIT_EXCEEDED: '1887',
  TRANSACTION_COUNT_LIMIT_EXCEEDED: '1888',
  DUPLICATE_TRANSACTION: '1889',
};

export interface DecisionInput {
  readonly jit_token: string;
  readonly order_number: string;
  readonly result: OutboundResult;
}

// Marqeta's rule: 200 with a parseable body echoing the JIT token approves; 402 declines with
// the gateway's reason; a timeout, a connection error, any other status or an unusable body
// declines.
export function decideJit(input: DecisionInput): JitOutcome {
  const { result } = input;
  const answer = parseAnswer(result.body);
  const echoes = answer !== undefined && answer.token === input.jit_token;
  const log = (message: string): GatewayLog => ({
    order_number: input.order_number,
    transaction_id: input.jit_token,
    message,
    duration: result.duration_ms,
    timed_out: result.timed_out,
    ...(result.status_code === undefined
      ? {}
      : { response: { code: String(result.status_code), ...(parsed(result.body) ?? {}) } }),
  });
  const base = { timed_out: result.timed_out, ...(answer === undefined ? {} : { answer }) };
  if (result.status_code === 200 && echoes) {
    return {
      ...base,
      approved: true,
      response_code: response_codes.approved,
      memo: 'Approved',
      gateway_log: log('Approved'),
    };
  }
  if (result.status_code === 402) {
    const reason = typeof answer?.decline_reason === 'string' ? answer.decline_reason : undefined;
    const code = (reason === undefined ? undefined : decline_codes[reason]) ?? '1885';
    const memo = `JIT declined${reason === undefined ? '' : `: ${reason}`}`;
    return { ...base, approved: false, response_code: code, memo, gateway_log: log(memo) };
  }
  const memo = failureMemo(result, answer !== undefined, echoes);
  return {
    ...base,
    approved: false,
    response_code: response_codes.jit_failure,
    memo,
    gateway_log: log(memo),
  };
}

function failureMemo(result: OutboundResult, parseable: boolean, echoes: boolean): string {
  if (result.timed_out) return 'JIT gateway timed out';
  if (result.status_code === undefined) return `JIT gateway unreachable (${result.error ?? 'error'})`;
  if (result.status_code !== 200) return `JIT gateway answered HTTP ${result.status_code}`;
  if (!parseable) return 'JIT gateway answer unparseable';
  return echoes ? 'JIT gateway answer rejected' : 'JIT gateway answer does not echo the JIT token';
}

function parsed(body: string | undefined): { data: unknown } | undefined {
  if (body === undefined || body.length === 0) return undefined;
  try {
    return { data: JSON.parse(body) as unknown };
  } catch {
    return undefined;
  }
}

function parseAnswer(body: string | undefined): Record<string, unknown> | undefined {
  const json = parsed(body)?.data;
  if (!isRecord(json)) return undefined;
  return isRecord(json.jit_funding) ? json.jit_funding : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
