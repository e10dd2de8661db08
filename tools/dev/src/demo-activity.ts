// Card activity for the demo, driven the way a card network would: through marqeta-sim's
// simulate endpoints, which ask our JIT gateway and then send their webhooks to us.
import { randomUUID } from 'node:crypto';
import { buildJitRequest } from '@afc/marqeta';
import { basic, callJson, expectStatus, pollUntil } from './http.ts';
import type { Platform } from './platform.ts';
import { money } from './report.ts';

export interface Merchant {
  readonly mid: string;
  readonly name: string;
  readonly mcc: string;
  readonly country_code: string;
}

export interface SimTransaction {
  readonly token: string;
  readonly type: string;
  readonly state: string;
  readonly response: { readonly code: string; readonly memo: string };
  readonly gpa_order?: {
    readonly jit_funding?: {
      readonly token?: string;
      readonly decline_reason?: string;
      readonly memo?: string;
    };
  };
}

export type FollowUp = 'authorization/incremental' | 'clearing' | 'reversal' | 'refund';

const sim_decline_codes: Readonly<Record<string, string>> = {
  '1003': 'card suspended at Marqeta (gateway not asked)',
  '1806': 'card not active at Marqeta (gateway not asked)',
  '1016': 'no enabled gateway (gateway not asked)',
  '1899': 'gateway failed or timed out',
};

export class SimDriver {
  readonly #platform: Platform;
  readonly #headers: Record<string, string>;

  constructor(platform: Platform) {
    this.#platform = platform;
    this.#headers = basic(platform.marqeta.application_token, platform.marqeta.admin_access_token);
  }

  #url(path: string): string {
    return `${this.#platform.urls['marqeta-sim']}${path}`;
  }

  async #simulate(path: string, body: object): Promise<SimTransaction> {
    const answer = await expectStatus<{ transaction: SimTransaction }>(
      'POST',
      this.#url(`/v3/simulate/${path}`),
      [201],
      {
        headers: this.#headers,
        body,
      },
    );
    return answer.transaction;
  }

  authorize(card_token: string, amount_minor: number, merchant: Merchant): Promise<SimTransaction> {
    return this.#simulate('authorization', {
      card_token,
      amount: money(amount_minor),
      mid: merchant.mid,
      currency_code: 'USD',
      card_acceptor: { mcc: merchant.mcc, name: merchant.name, country_code: merchant.country_code },
    });
  }

  followUp(kind: FollowUp, original: SimTransaction, amount_minor: number): Promise<SimTransaction> {
    return this.#simulate(kind, {
      original_transaction_token: original.token,
      amount: money(amount_minor),
    });
  }

  async setWebhooksPaused(paused: boolean): Promise<void> {
    await expectStatus('POST', this.#url('/_sim/faults'), [200], {
      headers: this.#headers,
      body: { webhooks_paused: paused },
    });
  }

  // Marqeta's "resend this event": the same event token delivered once more.
  async resendTransactionWebhook(event_token: string): Promise<void> {
    const webhook = this.#platform.program.webhook_token;
    await expectStatus('POST', this.#url(`/v3/webhooks/${webhook}/transaction/${event_token}`), [200, 201], {
      headers: this.#headers,
    });
  }

  // Waits (bounded) until every listed event has been delivered (answered 200) by a body of
  // the given origin, and reports how many deliveries of other events went out before it.
  async waitDelivered(event_tokens: readonly string[], origin: 'event' | 'replay', timeout_ms: number) {
    let delivered = false;
    await pollUntil(
      `webhooks delivered: ${event_tokens.length} events`,
      async () => {
        const state = await expectStatus<SimState>('GET', this.#url('/_sim/state'), [200], {
          headers: this.#headers,
        });
        const done = new Set(
          state.recent.deliveries
            .filter((d) => d.origin === origin && d.outcome === 'delivered')
            .flatMap((d) => d.event_tokens),
        );
        delivered = event_tokens.every((token) => done.has(token));
        return delivered;
      },
      timeout_ms,
    ).catch(() => undefined);
    return delivered;
  }

  // A JIT request straight to our gateway, as Marqeta sends it when its own card state lags
  // ours (the simulator declines a suspended card itself and never asks us).
  async jitDirect(card_token: string, user_token: string, amount_minor: number) {
    const jit_token = randomUUID();
    const body = buildJitRequest({
      transaction_token: randomUUID(),
      jit_token,
      method: 'pgfs.authorization',
      card_token,
      user_token,
      amount: money(amount_minor),
      currency_code: 'USD',
      mcc: '5411',
      mid: 'demo-grocer',
      country_code: 'USA',
    });
    const { jit } = this.#platform;
    const answer = await callJson('POST', `${this.#platform.urls.authorizer}/v1/jit`, {
      headers: { ...basic(jit.username, jit.password), ...jit.custom_header },
      body,
    });
    const funding = (answer.body as { jit_funding?: { decline_reason?: string; memo?: string } }).jit_funding;
    return { status: answer.status, jit_token, ...funding };
  }
}

interface SimState {
  readonly recent: {
    readonly deliveries: readonly { origin: string; outcome: string; event_tokens: readonly string[] }[];
  };
}

export function jitTokenOf(transaction: SimTransaction): string {
  const token = transaction.gpa_order?.jit_funding?.token;
  if (token === undefined) throw new Error(`transaction ${transaction.token} carries no JIT token`);
  return token;
}

// One line: what Marqeta did with the message, with our gateway's reason and memo.
export function outcomeOf(transaction: SimTransaction): string {
  if (transaction.state === 'DECLINED') {
    const funding = transaction.gpa_order?.jit_funding;
    if (funding?.decline_reason !== undefined)
      return `declined ${funding.decline_reason}${funding.memo === undefined ? '' : ` (${funding.memo})`}`;
    const code = transaction.response.code;
    return `declined ${code}: ${sim_decline_codes[code] ?? transaction.response.memo}`;
  }
  if (transaction.state === 'PENDING') return 'approved';
  return `applied (${transaction.type}, ${transaction.state})`;
}
