-- The api's outbox publisher retries each message on its own schedule. Before, a message that
-- could not be published stayed first in line and held back every command behind it, and a
-- failed round rolled back its own record of the failure. The publisher still reads unpublished
-- rows in id order through outbox_messages_unpublished_idx and skips those not yet due.
alter table outbox_messages add column next_attempt_at timestamptz not null default now();
