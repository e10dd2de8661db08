-- write_if_unloaded.lua: the loader's first fill of a hash of live totals (card counters, a
-- cardholder's wallet) from the data of record. Written only if the hash lacks the guard field:
-- once filled, the scripts keep it current, and a reload (a second loader, a retry, a stale read
-- of the database) must never overwrite live totals. Standalone (lib.lua is not prepended).
--
-- KEYS[1] the hash
-- ARGV[1] the guard field: 'loaded' for counters; 'available' for a wallet, so that a wallet
--         the data of record did not have at the first load ("loaded, none") can still be filled
-- ARGV[2..] field, value, field, value, ... (the caller adds loaded = 1)
--
-- Returns 1 when written, 0 when the guard field was already there.

if #ARGV < 3 or #ARGV % 2 ~= 1 then
  return redis.error_reply('AFC_CARD_STATE_INVALID a guard field, then field, value pairs')
end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
