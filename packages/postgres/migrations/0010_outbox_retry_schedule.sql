-- The api's outbox publisher retries each message on its own schedule. Before, a message that
-- could not be published stayed first in line and held back every command behind it, and a
-- failed round rolled back its own record of the failure.
alter table outbox_messages add column next_attempt_at timestamptz not null default now();
-- Replaces the index by id: the publisher reads what is due, in insertion order among those.
drop index outbox_messages_unpublished_idx;
create index outbox_messages_due_idx on outbox_messages (next_attempt_at, id) where published_at is null;
