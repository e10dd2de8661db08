import { exchange_names, routing_keys } from '@afc/amqp';
import type { CardIssueRequested } from '@afc/messages';
import type { Sql, TransactionSql } from '@afc/postgres';

// A card-issue command in the outbox (published by OutboxPublisher). `skip_existing`: a command
// whose message_id is already there is not inserted again (false is returned); otherwise that
// is a bug (command ids are new) and throws.
export async function insertIssueCommand(
  sql: Sql | TransactionSql,
  command: CardIssueRequested,
  skip_existing = false,
): Promise<boolean> {
  const query = sql as Sql;
  const rows = await query`
    insert into outbox_messages (message_id, exchange, routing_key, payload)
    values (${command.command_id}, ${exchange_names.events}, ${routing_keys.card_issue_requested},
            ${query.json(command)})
    on conflict (message_id) do nothing
    returning id`;
  if (rows.length === 0 && !skip_existing)
    throw new Error(`outbox message ${command.command_id} exists already`);
  return rows.length > 0;
}
