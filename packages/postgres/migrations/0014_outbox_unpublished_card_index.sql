-- The api's personal issue sweep resends a card's issue command only when none for that card
-- is still unpublished. That check looked at every unpublished row, up to 100 times a round,
-- and the unpublished backlog is largest during a broker outage, when the sweep has work.
-- Partial on the routing key too: only that check can use it, never the publisher's read of
-- unpublished rows in id order (outbox_messages_unpublished_idx).
create index if not exists outbox_messages_unpublished_card_idx
  on outbox_messages ((payload->>'card_token'))
  where published_at is null and routing_key = 'card.issue.requested';
