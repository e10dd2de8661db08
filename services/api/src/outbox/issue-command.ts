import { exchange_names, routing_keys } from '@afc/amqp';
import type { CardIssueRequested } from '@afc/messages';
import type { Sql, TransactionSql } from '@afc/postgres';

// A card-issue command in the outbox (published by OutboxPublisher). `skip_existing`: a command
// whose message_id is already there is not inserted again (false is returned).
export async function insertIssueCommand(
  sql: Sql | TransactionSql,
  command: CardIssueRequested,
  skip_existing = false,
): Promise<boolean> {
  const query = sql as Sql;
  const rows = skip_existing
    ? await query`
        insert into outbox_messages (message_id, exchange, routing_key, payload)
        values (${command.command_id}, ${exchange_names.events}, ${routing_keys.card_issue_requested},
                ${query.json(command)})
        on conflict (message_id) do nothing
        returning id`
    : await query`
        insert into outbox_messages (message_id, exchange, routing_key, payload)
        values (${command.command_id}, ${exchange_names.events}, ${routing_keys.card_issue_requested},
                ${query.json(command)})
        returning id`;
  return rows.length > 0;
}
