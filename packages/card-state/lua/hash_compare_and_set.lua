-- hash_compare_and_set.lua: repairs a hash of live totals (card counters, a wallet balance)
-- only if it still holds exactly what the repairer read. Reconcile reads Redis, compares with
-- the data of record, then writes: a decision that moved the hash in between must win, so the
-- write is refused and the card is looked at again on the next run. Standalone.
--
-- KEYS[1] the hash
-- ARGV[1] n, the number of compared fields
-- ARGV[2 .. n+1] the compared fields; ARGV[n+2 .. 2n+1] their values as read ('' = absent)
-- ARGV[2n+2 ..] field, value, field, value, ... to write
--
-- Returns 1 when written, 0 when the hash changed since it was read.

local n = tonumber(ARGV[1])
if n == nil or n < 1 or n % 1 ~= 0 or #ARGV < 2 * n + 3 or (#ARGV - 2 * n - 1) % 2 ~= 0 then
  return redis.error_reply('AFC_CARD_STATE_INVALID n, n fields, n values, then field, value pairs')
end
local fields = {}
for i = 1, n do fields[i] = ARGV[1 + i] end
local current = redis.call('HMGET', KEYS[1], unpack(fields))
for i = 1, n do
  local value = current[i]
  if not value then value = '' end
  if value ~= ARGV[1 + n + i] then return 0 end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2 * n + 2))
return 1
