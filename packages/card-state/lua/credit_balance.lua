-- credit_balance.lua: a confirmed wallet deposit reaches the real-time balance, exactly once.
-- The data of record committed the deposit first; this runs after, once per request (and
-- again on a repeat of the request). Standalone (lib.lua is not prepended).
--
-- KEYS[1] the cardholder's balance hash   KEYS[2] the deposit's marker
-- ARGV[1] credited amount (minor units, > 0)
-- ARGV[2] the wallet's version right after this deposit
-- ARGV[3] available, ARGV[4] held: the wallet right after this deposit
-- ARGV[5] marker TTL in seconds
--
-- 'duplicate' : this deposit reached Redis before.
-- 'filled'    : no balance was loaded: filled from the wallet after the deposit, as the loader
--               would; a loader's older snapshot arriving later is refused by its guard.
-- 'included'  : the loaded snapshot is at least as new as the deposit, so it already counts it.
-- 'credited'  : the snapshot predates the deposit: available += amount. wallet_version stays the
--               snapshot's, since deposits may reach this script out of their commit order.

local amount = tonumber(ARGV[1])
local version = tonumber(ARGV[2])
if amount == nil or amount <= 0 or version == nil or tonumber(ARGV[5]) == nil then
  return redis.error_reply('AFC_CARD_STATE_INVALID credit_balance arguments')
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 'duplicate'
end
local loaded = redis.call('HMGET', KEYS[1], 'available', 'wallet_version')
local outcome
if not loaded[1] then
  redis.call('HSET', KEYS[1], 'available', ARGV[3], 'held', ARGV[4], 'loaded', '1', 'wallet_version', ARGV[2])
  outcome = 'filled'
elseif loaded[2] and tonumber(loaded[2]) >= version then
  outcome = 'included'
else
  redis.call('HINCRBY', KEYS[1], 'available', ARGV[1])
  outcome = 'credited'
end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[5])
return outcome
