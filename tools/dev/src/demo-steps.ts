// The demo's table of steps: what the script expected and what Marqeta (the simulator) and
// our gateway actually did.
import {
  type FollowUp,
  type Merchant,
  outcomeOf,
  type SimDriver,
  type SimTransaction,
} from './demo-activity.ts';
import type { DemoCard } from './demo-setup.ts';
import { bearer, callJson } from './http.ts';
import { money } from './report.ts';

export interface StepRow {
  readonly step: string;
  readonly expected: string;
  readonly actual: string;
  readonly verdict: 'ok' | 'MISMATCH' | 'not available';
}

interface ApiTarget {
  readonly platform: { readonly urls: { readonly api: string }; readonly admin_key: string };
  readonly seed: { readonly company?: { readonly api_key: string } };
}

export class Steps {
  readonly rows: StepRow[] = [];

  get ok(): boolean {
    return this.rows.every((row) => row.verdict !== 'MISMATCH');
  }

  record(step: string, expected: string, actual: string, ok: boolean): void {
    this.rows.push({ step, expected, actual, verdict: ok ? 'ok' : 'MISMATCH' });
  }

  notAvailable(step: string, expected: string, why: string): void {
    this.rows.push({ step, expected, actual: `not available: ${why}`, verdict: 'not available' });
  }

  // The expected outcome is matched as a prefix: "declined INVALID_MERCHANT" matches the actual
  // "declined INVALID_MERCHANT (mcc_blocked)", which also shows our memo.
  #check(step: string, expected: string, transaction: SimTransaction): SimTransaction {
    const actual = outcomeOf(transaction);
    const ok = actual === expected || [' ', ':'].some((next) => actual.startsWith(`${expected}${next}`));
    this.record(step, expected, actual, ok);
    return transaction;
  }

  async authorize(
    sim: SimDriver,
    who: string,
    card: DemoCard,
    amount_minor: number,
    merchant: Merchant,
    expected: string,
    note = '',
  ): Promise<SimTransaction> {
    const transaction = await sim.authorize(card.card_token, amount_minor, merchant);
    const where = merchant.country_code === 'USA' ? '' : `, ${merchant.country_code}`;
    const label = `${who}: ${money(amount_minor)} at ${merchant.name} (${merchant.mcc}${where})${note === '' ? '' : `, ${note}`}`;
    return this.#check(label, expected, transaction);
  }

  async followUp(
    sim: SimDriver,
    who: string,
    kind: FollowUp,
    original: SimTransaction,
    amount_minor: number,
    expected: string,
    what: string,
  ): Promise<SimTransaction> {
    const transaction = await sim.followUp(kind, original, amount_minor);
    const name = kind === 'authorization/incremental' ? 'incremental' : kind;
    return this.#check(`${who}: ${name}, ${what}`, expected, transaction);
  }

  async suspend(target: ApiTarget, card: DemoCard): Promise<void> {
    const key = card.program === 'business' ? target.seed.company?.api_key : target.platform.admin_key;
    const path =
      card.program === 'business'
        ? `/v1/cards/${card.id}/transitions`
        : `/v1/personal/cards/${card.card_token}/transitions`;
    const answer = await callJson('POST', `${target.platform.urls.api}${path}`, {
      headers: bearer(key ?? ''),
      body: { state: 'SUSPENDED', reason: 'demo: reported lost' },
    });
    const state = (answer.body as { state?: string }).state;
    this.record(
      `${card.holder}: card suspended through the api`,
      'suspended',
      answer.status === 200 ? `${state}` : `HTTP ${answer.status}`,
      answer.status === 200 && state === 'suspended',
    );
  }
}
