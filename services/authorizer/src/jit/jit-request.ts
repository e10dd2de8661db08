import { classifyMethod, type MethodInfo, methodAction } from '@afc/domain';
import { type JitFundingPart, type JitFundingRequest, jitFundingOf } from '@afc/marqeta';
import { type MoneyError, parseAmount } from '@afc/money';

// A JIT request reduced to what the rules read, or why it cannot be: a value, never a throw.
export interface JitWork {
  readonly funding: JitFundingPart;
  readonly info: MethodInfo;
  readonly action: ReturnType<typeof methodAction>;
  readonly card_token: string;
  readonly user_token: string;
  readonly amount: { readonly minor: number; readonly currency: string } | MoneyError;
  readonly merchant: {
    readonly mcc: string;
    readonly mid: string;
    readonly country: string;
    readonly name?: string;
  };
  readonly transaction_token?: string;
  readonly network?: string;
}

export type JitParse =
  | { readonly ok: true; readonly work: JitWork }
  | { readonly ok: false; readonly error: string };

// The state scripts take free text of at most 256 bytes; Marqeta's merchant names are limited
// in characters, which in UTF-8 can be more bytes. A name is informative: shorten it, whole
// characters only, rather than refuse the message.
const max_name_bytes = 256;

function truncateUtf8(text: string, max_bytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= max_bytes) return text;
  let bytes = 0;
  let end = 0;
  for (const character of text) {
    const size = Buffer.byteLength(character, 'utf8');
    if (bytes + size > max_bytes) break;
    bytes += size;
    end += character.length;
  }
  return text.slice(0, end);
}

export function parseJitRequest(request: JitFundingRequest): JitParse {
  const funding = jitFundingOf(request);
  if (funding === undefined) {
    return {
      ok: false,
      error: 'exactly one of gpa_order.jit_funding and gpa_order_unload.jit_funding is required',
    };
  }
  const info = classifyMethod(funding.method);
  // Zero is a valid amount for account verifications and balance inquiries; the rules decide
  // where zero is not allowed (INVALID_AMOUNT).
  const parsed = parseAmount(funding.amount, request.currency_code, { allow_zero: true });
  const acceptor = request.card_acceptor;
  return {
    ok: true,
    work: {
      funding,
      info,
      action: methodAction(info),
      card_token: request.card_token,
      user_token: funding.user_token,
      amount: parsed.ok ? { minor: parsed.value.minor, currency: parsed.value.currency } : parsed.error,
      merchant: {
        mcc: acceptor?.mcc ?? '',
        mid: acceptor?.mid ?? '',
        country: (acceptor?.country_code ?? '').toUpperCase(),
        ...(acceptor?.name === undefined ? {} : { name: truncateUtf8(acceptor.name, max_name_bytes) }),
      },
      ...(request.token === undefined ? {} : { transaction_token: request.token }),
      ...(request.network === undefined ? {} : { network: request.network }),
    },
  };
}
