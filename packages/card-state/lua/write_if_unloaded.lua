-- write_if_unloaded.lua: the loader's first fill of a hash of live totals (card counters, a
-- cardholder's wallet) from the data of record. Written only if the hash has no `loaded` field
-- yet: once loaded, the scripts keep it current, and a reload (a second loader, a retry, a
-- stale read of the database) must never overwrite live counters. Standalone.
--
-- KEYS[1] the hash
-- ARGV    field, value, field, value, ... (the caller adds loaded = 1)
--
-- Returns 1 when written, 0 when it was already loaded.

if #ARGV < 2 or #ARGV % 2 ~= 0 then
  return redis.error_reply('AFC_CARD_STATE_INVALID fields must come in field, value pairs')
end
if redis.call('HEXISTS', KEYS[1], 'loaded') == 1 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
