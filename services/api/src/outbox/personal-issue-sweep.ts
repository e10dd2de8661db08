import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Logger } from '@afc/log';
import type { AwaitingIssueCursor, PersonalCard, PersonalStore } from '@afc/personal-store';
import type { Sql } from '@afc/postgres';
import { type PeriodicTask, startPeriodicTask } from '@afc/service-kit';
import { insertIssueCommand } from './issue-command.ts';

export interface PersonalIssueSweepOptions {
  readonly store: PersonalStore;
  readonly sql: Sql;
  readonly logger: Logger;
  // A card still 'unactivated' this long after it was recorded gets its issue command again.
  // Longer than an issuance normally takes through the queue's retries (they end in 'active' or
  // 'failed'), so a card on its way is rarely sent twice (harmless: the issuer is idempotent).
  readonly stuck_after_ms: number;
  readonly interval_ms: number;
  readonly batch_size: number;
  // After a round that inserted commands: publish them now.
  readonly on_resent: () => void;
}

// Recovery of the personal card's issue command. With the PostgreSQL twin the card and its
// command commit together (see personal-routes); with MongoDB they are two writes, and a crash
// between them leaves a card no command will ever issue. Every API instance sweeps: the command
// it re-sends has a message_id derived from the card and the time window, so all instances (and
// every round of one window) insert it at most once (outbox message_id is unique).
export class PersonalIssueSweep {
  readonly #options: PersonalIssueSweepOptions;
  #task: PeriodicTask | undefined;
  // Where the next round goes on: each round reads one page, so cards that stay stuck (no
  // product recorded, or refused every time) cannot keep the sweep from the cards behind them.
  #cursor: AwaitingIssueCursor | undefined;

  constructor(options: PersonalIssueSweepOptions) {
    assert.ok(options.stuck_after_ms > 0 && options.interval_ms > 0, 'positive sweep times');
    assert.ok(Number.isInteger(options.batch_size) && options.batch_size > 0, 'batch_size > 0');
    this.#options = options;
  }

  get stuck_after_ms(): number {
    return this.#options.stuck_after_ms;
  }

  // One page per round, every interval_ms ±50 % (instances started together drift apart).
  start(): void {
    assert.equal(this.#task, undefined, 'the personal issue sweep is already running');
    this.#task = startPeriodicTask({
      name: 'api.personal_issue_sweep',
      interval_ms: this.#options.interval_ms,
      jitter_ratio: 0.5,
      logger: this.#options.logger,
      run: async () => {
        await this.sweepOnce();
        return { again: false };
      },
    });
  }

  async stop(timeout_ms: number): Promise<void> {
    await this.#task?.stop(timeout_ms);
  }

  // Commands inserted in this round (one page of stuck cards; after the last, the first again).
  async sweepOnce(now_ms = Date.now()): Promise<number> {
    const { store, sql, logger, stuck_after_ms, batch_size } = this.#options;
    const created_before = new Date(now_ms - stuck_after_ms);
    const stuck = await store.listCardsAwaitingIssue(created_before, batch_size, this.#cursor);
    const last = stuck.at(-1);
    this.#cursor =
      stuck.length < batch_size || last === undefined
        ? undefined
        : { created_at: last.created_at, card_token: last.card_token };
    let inserted = 0;
    for (const card of stuck) {
      if (card.card_product_token === null) {
        // Recorded before the product was kept with the card: a person must issue it.
        logger.error(
          { card_token: card.card_token },
          'personal card stuck unissued, no card product recorded',
        );
        continue;
      }
      const command_id = resendId(card, Math.floor(now_ms / stuck_after_ms));
      if (await insertIssueCommand(sql, commandOf(card, card.card_product_token, command_id), true)) {
        inserted += 1;
        logger.warn({ card_token: card.card_token, command_id }, 'personal card issue command sent again');
      }
    }
    if (inserted > 0) this.#options.on_resent();
    return inserted;
  }
}

function commandOf(card: PersonalCard, card_product_token: string, command_id: string) {
  return {
    command_id,
    program: 'personal' as const,
    card_token: card.card_token,
    user_token: card.user_token,
    card_product_token,
    currency: card.currency,
    requested_at: new Date().toISOString(),
  };
}

// A UUID-shaped digest of (card, window): the same for every instance within one window.
function resendId(card: PersonalCard, window: number): string {
  const hex = createHash('sha256').update(`personal-issue-resend:${card.card_token}:${window}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
