import assert from 'node:assert/strict';
import { exchange_names, routing_keys } from '@afc/amqp';
import type { CardIssueRequested } from '@afc/messages';
import type { Sql, TransactionSql } from '@afc/postgres';

// A card-issue command in the outbox (published by OutboxPublisher). A new command's id is
// new: one already there is a bug and throws. `resend` (the recovery sweep): nothing is inserted
// and false is returned when this id is there already, or when a command for the same card is
// still waiting unpublished, so a broker outage does not pile up one resend per sweep window.
// Written out in the check below, not passed as a parameter: a prepared statement's generic
// plan can use the partial index outbox_messages_unpublished_card_idx (migration 0014) only when
// its predicate is in the statement text.
assert.equal(routing_keys.card_issue_requested, 'card.issue.requested');

export async function insertIssueCommand(
  sql: Sql | TransactionSql,
  command: CardIssueRequested,
  resend = false,
): Promise<boolean> {
  const query = sql as Sql;
  const rows = await query`
    insert into outbox_messages (message_id, exchange, routing_key, payload)
    select ${command.command_id}, ${exchange_names.events}, ${routing_keys.card_issue_requested},
           ${query.json(command)}
    where not ${resend} or not exists (
      select 1 from outbox_messages
      where published_at is null and routing_key = 'card.issue.requested'
        and payload->>'card_token' = ${command.card_token})
    on conflict (message_id) do nothing
    returning id`;
  if (rows.length === 0 && !resend) throw new Error(`outbox message ${command.command_id} exists already`);
  return rows.length > 0;
}
