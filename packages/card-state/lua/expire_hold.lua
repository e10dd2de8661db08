-- expire_hold.lua: a hold no clearing ended within the hold expiry (settlement's sweep) ends as
-- domain applyExpiry says: on_expiry 'capture' captures what is still held (the purchase
-- happened: single-message methods), 'release' gives it back to the counters and the wallet.
-- Idempotent by JIT token: the first run stores its movement under the expiry marker and every
-- later run answers that same movement, so a sweep that died between this script and its
-- PostgreSQL commit records exactly what Redis did. lib.lua is prepended.
--
-- KEYS[1] hold(jit)   KEYS[2] card counters   KEYS[3] user balance   KEYS[4] expiry marker(jit)
-- ARGV[1] jit_token   ARGV[2] card_token (the ledger's: the hold must be this card's)
-- ARGV[3] marker TTL in seconds   ARGV[4] TTL of the closed hold in seconds (lib.lua store_hold)
--
-- Counters or a wallet not loaded are left alone: the loader fills them from the data of
-- record, which counts the movement this reply gives back (settlement records it).
--
-- Replies {"status":"expired","first":true|false,"movement":{action, program, released_minor,
-- captured_minor, counter_deltas, balance_delta}}; action 'released' | 'captured' | 'hold_not_found'.

local K = { hold = KEYS[1], counters = KEYS[2], balance = KEYS[3], marker = KEYS[4] }
local jit_token = ARGV[1]
local card_token = ARGV[2]
local ttl_s = tonumber(ARGV[3])
local closed_ttl_s = tonumber(ARGV[4])
if type(jit_token) ~= 'string' or #jit_token == 0 or not is_int(ttl_s) or ttl_s <= 0
  or not is_int(closed_ttl_s) or closed_ttl_s <= 0 then
  fail('AFC_CARD_STATE_INVALID', 'expire_hold arguments')
end

local function reply(first, movement_json)
  local flag = 'false'
  if first then flag = 'true' end
  return '{"status":"expired","first":' .. flag .. ',"movement":' .. movement_json .. '}'
end

local stored = redis.call('GET', K.marker)
if stored then return reply(false, stored) end

local hold = read_hold(K.hold, jit_token)
-- The counters in KEYS are the ledger's card's: a hold of another card is not ours to move.
corrupt(hold == nil or hold.card_token == card_token, 'hold of another card: ', K.hold)
local movement
if hold == nil then
  movement = { action = 'hold_not_found', program = nil, counter_deltas = {}, balance_delta = no_balance_change,
    released_minor = 0, captured_minor = 0 }
elseif hold.on_expiry == 'capture' then
  movement = capture_from_hold(hold, hold.amount_minor, true)
  movement.action = 'captured'
else
  movement = release_from_hold(hold, hold.amount_minor, false)
  movement.action = 'released'
end

local counters, balance = nil, nil
if hold ~= nil then
  movement.program = hold.program
  local loaded = read_counters(K.counters)
  if loaded ~= nil and #movement.counter_deltas > 0 then counters = apply_counter_deltas(loaded, movement.counter_deltas) end
  if hold.program == 'personal' then
    local wallet = read_balance(K.balance)
    if wallet.loaded and wallet.value ~= nil then balance = apply_balance_delta(wallet.value, movement.balance_delta) end
  end
end

-- Everything that can fail ran above; the writes follow.
local movement_json = '{"action":' .. json_str(movement.action)
  .. opt_member(',"program":', opt_str(movement.program))
  .. ',"released_minor":' .. json_int(movement.released_minor)
  .. ',"captured_minor":' .. json_int(movement.captured_minor)
  .. ',"counter_deltas":' .. enc_counted_list(movement.counter_deltas)
  .. ',"balance_delta":' .. enc_balance_delta(movement.balance_delta) .. '}'
if hold ~= nil then write_hold(K.hold, movement.hold, closed_ttl_s) end
if counters ~= nil then write_counters(K.counters, counters) end
if balance ~= nil then write_balance(K.balance, balance) end
redis.call('SET', K.marker, movement_json, 'EX', string.format('%d', ttl_s))
return reply(true, movement_json)
