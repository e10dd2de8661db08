import type { DeclineReason, JitFundingPart, JitFundingResponse } from '@afc/marqeta';

export interface JitBalance {
  readonly currency: string;
  // Major-unit text from @afc/money's formatMinor: exact, converted to a JSON number last.
  readonly available: string;
  readonly ledger: string;
}

export type JitVerdict =
  | { readonly approved: true; readonly memo?: string; readonly balance?: JitBalance }
  | { readonly approved: false; readonly decline_reason: DeclineReason; readonly memo: string };

export interface JitAnswer {
  readonly status: 200 | 402;
  readonly body: JitFundingResponse;
}

// Marqeta matches our answer to its request by the echo: token, method, user_token and the
// amount exactly as it was sent (a number stays a number, "1.00" stays "1.00").
export function jitAnswer(funding: JitFundingPart, verdict: JitVerdict): JitAnswer {
  const echo = {
    token: funding.token,
    method: funding.method,
    user_token: funding.user_token,
    amount: funding.amount,
    ...(funding.acting_user_token === undefined ? {} : { acting_user_token: funding.acting_user_token }),
    ...(funding.original_jit_funding_token === undefined
      ? {}
      : { original_jit_funding_token: funding.original_jit_funding_token }),
  };
  if (!verdict.approved) {
    return {
      status: 402,
      body: { jit_funding: { ...echo, decline_reason: verdict.decline_reason, memo: verdict.memo } },
    };
  }
  const balances =
    verdict.balance === undefined
      ? undefined
      : {
          [verdict.balance.currency]: {
            currency_code: verdict.balance.currency,
            // JSON numbers in major units, as Marqeta's balances are; the text is exact.
            available_balance: Number(verdict.balance.available),
            ledger_balance: Number(verdict.balance.ledger),
          },
        };
  return {
    status: 200,
    body: {
      jit_funding: {
        ...echo,
        ...(verdict.memo === undefined ? {} : { memo: verdict.memo }),
        ...(balances === undefined ? {} : { balances }),
      },
    },
  };
}
