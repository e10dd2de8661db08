-- lib.lua: shared by decide.lua, apply.lua and release_after_timeout.lua. The TypeScript
-- registrar prepends it to each script, so one EVALSHA still runs one self-contained script.
-- It ports @afc/domain (holds.ts, windows.ts, effects.ts arithmetic) function for function:
-- the names below are the domain's, in snake_case.
--
-- Numbers: Lua 5.1 has only doubles. Every amount is an integer of at most 10^12
-- (max_amount_minor) and every sum stays far below 2^53, so arithmetic is exact; numbers are
-- written with string.format('%d') only. cjson is used to DECODE, never to encode numbers:
-- Redis' cjson prints 14 significant digits (1.2345678901234e+14 for 123456789012345).
--
-- Every check that can fail runs before the first write: Redis does not roll back the writes
-- of a script that raises an error.

local max_amount_minor = 1000000000000
local max_exact = 9007199254740992
local max_counted_entries = 16

-- Error replies carry our code first; the TypeScript side maps the code to its error class.
local function fail(code, message)
  error({ err = code .. ' ' .. message })
end

-- n % 1 is NaN for NaN and infinities, 0 only for integers (no call to math.floor: this runs
-- for every number read or written).
local function is_int(n)
  return type(n) == 'number' and n % 1 == 0 and n >= -max_exact and n <= max_exact
end

local function is_natural(n)
  return is_int(n) and n >= 0
end

-- domain `readable` / `validAmount`: an integer in 0..max_amount_minor.
local function readable(n)
  return is_int(n) and n >= 0 and n <= max_amount_minor
end

local function invariant(ok, message)
  if not ok then fail('AFC_CARD_STATE_INVARIANT', message) end
end

-- subject (a key, a field) is joined to the message only on failure: checks run on every
-- read, and building their messages up front cost more than the checks.
local function corrupt(ok, message, subject)
  if not ok then fail('AFC_CARD_STATE_CORRUPT', message .. (subject or '')) end
end

-- JSON encoding of integer-only records ---------------------------------------------------
-- Costly part of a script: every record, hold, event and reply is built here. Each value is
-- encoded once and object keys (our own identifiers, literals in this code) are written as
-- they are: a cjson.encode per key and per value cost more than the rules themselves.

local concat, format = table.concat, string.format

local function json_int(n)
  if not is_int(n) then fail('AFC_CARD_STATE_INVARIANT', 'a number to encode is not an exact integer') end
  return format('%d', n)
end

-- cjson.encode of one string is a single C pass (about 0.1 µs here), where a Lua pattern scan
-- for characters needing escapes cost over 1 µs per string: strings are encoded by cjson.
-- (It escapes '/' as '\/', which JSON allows and every reader decodes as '/'.)
local encode_string = cjson.encode

local function json_str(s)
  if type(s) ~= 'string' then fail('AFC_CARD_STATE_INVARIANT', 'a string to encode is not a string') end
  return encode_string(s)
end

-- Optional members: false leaves the member out (nil cannot sit in a Lua list).
local function opt_str(s)
  if s == nil then return false end
  return json_str(s)
end

local function opt_int(n)
  if n == nil then return false end
  return json_int(n)
end

-- members: key, fragment, key, fragment, ... Keys are identifiers of ours (no escaping needed);
-- fragments are already encoded, false = absent. One concatenation for the whole object.
local function json_object(members)
  local parts, n = {}, 0
  for i = 1, #members, 2 do
    local fragment = members[i + 1]
    if fragment ~= false then
      parts[n + 1] = ',"'
      parts[n + 2] = members[i]
      parts[n + 3] = '":'
      parts[n + 4] = fragment
      n = n + 4
    end
  end
  if n == 0 then return '{}' end
  parts[1] = '{"'
  parts[n + 1] = '}'
  return concat(parts)
end

local function json_array(fragments)
  return '[' .. concat(fragments, ',') .. ']'
end

-- An optional member inside a chain of `..` (one concatenation, no table): `,"key":value`, or
-- nothing when absent. key_fragment is the literal `,"key":`.
local function opt_member(key_fragment, fragment)
  if fragment == false then return '' end
  return key_fragment .. fragment
end

local function get_json(key)
  local raw = redis.call('GET', key)
  if not raw then return nil end
  local ok, value = pcall(cjson.decode, raw)
  corrupt(ok and type(value) == 'table', 'stored value is not a JSON object: ', key)
  return value
end

-- Counted entries and holds (domain holds.ts) ---------------------------------------------

local function counted_in(starts, amount_minor, count)
  return {
    day_start = starts.day, week_start = starts.week, month_start = starts.month,
    amount_minor = amount_minor, count = count,
  }
end

local function copy_entry(e)
  return counted_in({ day = e.day_start, week = e.week_start, month = e.month_start }, e.amount_minor, e.count)
end

local function same_windows(e, starts)
  return e.day_start == starts.day and e.week_start == starts.week and e.month_start == starts.month
end

local function can_count_in(counted, starts)
  local last = counted[#counted]
  return #counted < max_counted_entries or (last ~= nil and same_windows(last, starts))
end

-- Merges with the newest entry when the windows match, or when full (see domain addCounted).
local function add_counted(counted, entry)
  local out = {}
  for i, e in ipairs(counted) do out[i] = copy_entry(e) end
  local last = out[#out]
  local starts = { day = entry.day_start, week = entry.week_start, month = entry.month_start }
  if last ~= nil and (same_windows(last, starts) or #out >= max_counted_entries) then
    last.amount_minor = last.amount_minor + entry.amount_minor
    last.count = last.count + entry.count
  else
    out[#out + 1] = copy_entry(entry)
  end
  return out
end

-- Takes from the oldest entries first (domain takeOldestFirst); from the newest first when
-- newest_first (only the timeout release, which undoes the entry an incremental just added).
local function take_amount(counted, amount_minor, newest_first)
  local n = #counted
  local kept = {}
  local taken = {}
  local remaining = amount_minor
  for step = 1, n do
    local i = newest_first and (n - step + 1) or step
    local entry = counted[i]
    local take = math.min(remaining, entry.amount_minor)
    remaining = remaining - take
    if take > 0 then
      local t = copy_entry(entry)
      t.amount_minor = take
      t.count = 0
      taken[#taken + 1] = t
    end
    local rest = copy_entry(entry)
    rest.amount_minor = entry.amount_minor - take
    if rest.amount_minor > 0 or rest.count > 0 then kept[i] = rest end
  end
  invariant(remaining == 0, 'never take more than is counted')
  local left = {}
  for i = 1, n do
    if kept[i] then left[#left + 1] = kept[i] end
  end
  return left, taken
end

local function copy_hold(h)
  local counted = {}
  for i, e in ipairs(h.counted) do counted[i] = copy_entry(e) end
  return {
    jit_token = h.jit_token, card_token = h.card_token, user_token = h.user_token, program = h.program,
    amount_minor = h.amount_minor, authorized_minor = h.authorized_minor,
    released_minor = h.released_minor, captured_minor = h.captured_minor,
    reversed_beyond_minor = h.reversed_beyond_minor, on_expiry = h.on_expiry, counted = counted,
  }
end

-- domain assertHold: held = authorized - released - captured = what is still counted.
local function assert_hold(h)
  invariant(is_natural(h.amount_minor) and is_natural(h.authorized_minor)
    and is_natural(h.released_minor) and is_natural(h.captured_minor)
    and (h.reversed_beyond_minor == nil or is_natural(h.reversed_beyond_minor)), 'hold amounts are natural')
  invariant(h.amount_minor == h.authorized_minor - h.released_minor - h.captured_minor,
    'released + captured + held = authorized')
  invariant(#h.counted <= max_counted_entries, 'counted entries bounded')
  local total = 0
  for _, e in ipairs(h.counted) do
    invariant(is_natural(e.amount_minor) and is_natural(e.count), 'counted entries natural')
    total = total + e.amount_minor
  end
  invariant(total == h.amount_minor, 'what is held is exactly what is still counted')
end

local function valid_program(p)
  return p == 'business' or p == 'personal'
end

local function read_entry(e)
  corrupt(type(e) == 'table' and is_int(e.day_start) and is_int(e.week_start) and is_int(e.month_start)
    and is_natural(e.amount_minor) and is_natural(e.count), 'bad counted entry')
  return copy_entry(e)
end

-- A stored hold, checked: it must be the hold of `jit_token` and satisfy assertHold.
local function read_hold(key, jit_token)
  local h = get_json(key)
  if h == nil then return nil end
  corrupt(h.jit_token == jit_token and type(h.card_token) == 'string' and type(h.user_token) == 'string'
    and valid_program(h.program) and (h.on_expiry == 'release' or h.on_expiry == 'capture')
    and type(h.counted) == 'table', 'bad hold ', key)
  local counted = {}
  for i, e in ipairs(h.counted) do counted[i] = read_entry(e) end
  h.counted = counted
  local ok = pcall(assert_hold, h)
  corrupt(ok, 'hold breaks its invariant: ', key)
  return copy_hold(h)
end

-- The hot encoders below are single chains of `..`: Lua concatenates a chain at once, while a
-- table of parts costs its growth and a second copy.
local function enc_counted(e)
  return '{"day_start":' .. json_int(e.day_start) .. ',"week_start":' .. json_int(e.week_start)
    .. ',"month_start":' .. json_int(e.month_start) .. ',"amount_minor":' .. json_int(e.amount_minor)
    .. ',"count":' .. json_int(e.count) .. '}'
end

local function enc_counted_list(list)
  local n = #list
  if n == 0 then return '[]' end
  if n == 1 then return '[' .. enc_counted(list[1]) .. ']' end
  local fragments = {}
  for i = 1, n do fragments[i] = enc_counted(list[i]) end
  return json_array(fragments)
end

local function enc_hold(h)
  return '{"jit_token":' .. json_str(h.jit_token) .. ',"card_token":' .. json_str(h.card_token)
    .. ',"user_token":' .. json_str(h.user_token) .. ',"program":' .. json_str(h.program)
    .. ',"amount_minor":' .. json_int(h.amount_minor) .. ',"authorized_minor":' .. json_int(h.authorized_minor)
    .. ',"released_minor":' .. json_int(h.released_minor) .. ',"captured_minor":' .. json_int(h.captured_minor)
    .. opt_member(',"reversed_beyond_minor":', h.reversed_beyond_minor ~= nil and json_int(h.reversed_beyond_minor))
    .. ',"on_expiry":' .. json_str(h.on_expiry) .. ',"counted":' .. enc_counted_list(h.counted) .. '}'
end

local function enc_hold_or_null(h)
  if h == nil then return 'null' end
  return enc_hold(h)
end

local function enc_hold_snapshot(h)
  if h == nil then return 'null' end
  return '{"amount_minor":' .. json_int(h.amount_minor) .. ',"authorized_minor":' .. json_int(h.authorized_minor)
    .. ',"released_minor":' .. json_int(h.released_minor) .. ',"captured_minor":' .. json_int(h.captured_minor) .. '}'
end

-- The JSON of a hold about to be stored, checked: encoded once, written and replied as is.
local function checked_hold_json(h)
  assert_hold(h)
  return enc_hold(h)
end

-- A hold that still holds money has no TTL: an expiring hold would free spend silently (ending
-- it is applyExpiry's job). One that holds nothing is kept closed_ttl_s, long enough for a late
-- clearing or advice of the same purchase to find it, and then goes: Redis keeps the open holds
-- and the recently closed ones, not every authorization ever approved. A plain SET drops any
-- TTL, so a closed hold that an advice or an incremental opens again is kept again.
local function store_hold(key, hold_json, amount_minor, closed_ttl_s)
  if amount_minor > 0 then
    redis.call('SET', key, hold_json)
    return
  end
  invariant(is_int(closed_ttl_s) and closed_ttl_s > 0, 'a closed hold is stored with its TTL')
  redis.call('SET', key, hold_json, 'EX', string.format('%d', closed_ttl_s))
end

local function write_hold(key, h, closed_ttl_s)
  store_hold(key, checked_hold_json(h), h.amount_minor, closed_ttl_s)
end

-- Movements (domain releaseFromHold, captureFromHold) --------------------------------------

local no_balance_change = { available_minor = 0, held_minor = 0 }

local function wallet_delta(program, available_minor, held_minor)
  if program == 'personal' then return { available_minor = available_minor, held_minor = held_minor } end
  return no_balance_change
end

local function hold_delta(program, amount_minor)
  return wallet_delta(program, -amount_minor, amount_minor)
end

local function spend_delta(program, amount_minor)
  return wallet_delta(program, -amount_minor, 0)
end

local function sum_balance_deltas(a, b)
  return { available_minor = a.available_minor + b.available_minor, held_minor = a.held_minor + b.held_minor }
end

local function enc_balance_delta(d)
  return '{"available_minor":' .. json_int(d.available_minor) .. ',"held_minor":' .. json_int(d.held_minor) .. '}'
end

-- Gives back part of what is held; when nothing stays held, the counts too. `undo` (timeout
-- release of an incremental) takes newest first and unwinds authorized_minor instead of
-- counting a release: the increment was never granted as far as Marqeta knows.
local function release_from_hold(hold, amount_minor, undo)
  invariant(is_natural(amount_minor) and amount_minor <= hold.amount_minor, 'release at most what is held')
  local left, taken = take_amount(hold.counted, amount_minor, undo)
  local deltas = {}
  for i, e in ipairs(taken) do
    deltas[i] = counted_in({ day = e.day_start, week = e.week_start, month = e.month_start }, -e.amount_minor, 0)
  end
  local held = hold.amount_minor - amount_minor
  if held == 0 then
    for _, e in ipairs(left) do
      if e.count > 0 then
        deltas[#deltas + 1] = counted_in({ day = e.day_start, week = e.week_start, month = e.month_start }, 0, -e.count)
      end
    end
    left = {}
  end
  local next_hold = copy_hold(hold)
  next_hold.amount_minor = held
  if undo then
    next_hold.authorized_minor = hold.authorized_minor - amount_minor
  else
    next_hold.released_minor = hold.released_minor + amount_minor
  end
  next_hold.counted = left
  assert_hold(next_hold)
  return { hold = next_hold, counter_deltas = deltas, balance_delta = wallet_delta(hold.program, amount_minor, -amount_minor),
    released_minor = amount_minor, captured_minor = 0 }
end

-- Spend stays counted: no counter moves; once the purchase happened its count is final.
local function capture_from_hold(hold, amount_minor, purchase_happened)
  invariant(is_natural(amount_minor) and amount_minor <= hold.amount_minor, 'capture at most what is held')
  local left = take_amount(hold.counted, amount_minor, false)
  local counted = left
  if purchase_happened then
    counted = {}
    for _, e in ipairs(left) do
      if e.amount_minor > 0 then
        local kept = copy_entry(e)
        kept.count = 0
        counted[#counted + 1] = kept
      end
    end
  end
  local next_hold = copy_hold(hold)
  next_hold.amount_minor = hold.amount_minor - amount_minor
  next_hold.captured_minor = hold.captured_minor + amount_minor
  next_hold.counted = counted
  assert_hold(next_hold)
  return { hold = next_hold, counter_deltas = {}, balance_delta = wallet_delta(hold.program, 0, -amount_minor),
    released_minor = 0, captured_minor = amount_minor }
end

-- Counters (domain windows.ts) -------------------------------------------------------------

local windows = { 'day', 'week', 'month' }

local function read_window(raw, first, key)
  local w = { start = tonumber(raw[first]), amount_minor = tonumber(raw[first + 1]), count = tonumber(raw[first + 2]) }
  corrupt(is_int(w.start) and is_natural(w.amount_minor) and is_natural(w.count), 'bad counters ', key)
  return w
end

-- nil when the loader has not filled them yet (no `loaded` field).
local function read_counters(key)
  local raw = redis.call('HMGET', key, 'loaded', 'day_start', 'day_amount', 'day_count',
    'week_start', 'week_amount', 'week_count', 'month_start', 'month_amount', 'month_count')
  if not raw[1] then return nil end
  return { day = read_window(raw, 2, key), week = read_window(raw, 5, key), month = read_window(raw, 8, key) }
end

local function write_counters(key, c)
  redis.call('HSET', key,
    'day_start', json_int(c.day.start), 'day_amount', json_int(c.day.amount_minor), 'day_count', json_int(c.day.count),
    'week_start', json_int(c.week.start), 'week_amount', json_int(c.week.amount_minor), 'week_count', json_int(c.week.count),
    'month_start', json_int(c.month.start), 'month_amount', json_int(c.month.amount_minor), 'month_count', json_int(c.month.count),
    'loaded', '1')
end

-- A stored window newer than the clock is kept (domain rollWindow).
local function roll_window(stored, start)
  if stored.start >= start then return stored end
  return { start = start, amount_minor = 0, count = 0 }
end

local function current_counters(stored, starts)
  return {
    day = roll_window(stored.day, starts.day),
    week = roll_window(stored.week, starts.week),
    month = roll_window(stored.month, starts.month),
  }
end

local function current_starts(stored, starts)
  local c = current_counters(stored, starts)
  return { day = c.day.start, week = c.week.start, month = c.month.start }
end

local function apply_window(stored, start, amount_minor, count)
  local counts = amount_minor > 0 or count > 0
  if start == stored.start then
    -- Never below zero: a refund in restore_counters mode may have given it back already.
    return { start = start, amount_minor = math.max(0, stored.amount_minor + amount_minor),
      count = math.max(0, stored.count + count) }
  end
  if start > stored.start then
    if counts then return { start = start, amount_minor = amount_minor, count = count } end
    return { start = start, amount_minor = 0, count = 0 }
  end
  invariant(not counts, 'counted into a closed window')
  return stored
end

local function apply_counter_deltas(counters, deltas)
  local c = { day = counters.day, week = counters.week, month = counters.month }
  for _, d in ipairs(deltas) do
    local up = d.amount_minor >= 0 and d.count >= 0
    local down = d.amount_minor <= 0 and d.count <= 0
    invariant(up or down, 'a counter delta either counts or gives back, never both')
    c.day = apply_window(c.day, d.day_start, d.amount_minor, d.count)
    c.week = apply_window(c.week, d.week_start, d.amount_minor, d.count)
    c.month = apply_window(c.month, d.month_start, d.amount_minor, d.count)
  end
  for _, window in ipairs(windows) do
    invariant(is_natural(c[window].amount_minor) and is_natural(c[window].count), 'counters never negative')
  end
  return c
end

-- Balances ---------------------------------------------------------------------------------

-- { loaded = bool, value = { available_minor, held_minor } or nil }. Loaded without a value:
-- the data of record has no wallet for this cardholder (domain: balance undefined).
local function read_balance(key)
  local raw = redis.call('HMGET', key, 'loaded', 'available', 'held')
  if not raw[1] then return { loaded = false } end
  if not raw[2] then return { loaded = true } end
  local value = { available_minor = tonumber(raw[2]), held_minor = tonumber(raw[3]) }
  corrupt(is_int(value.available_minor) and is_natural(value.held_minor), 'bad balance ', key)
  return { loaded = true, value = value }
end

-- domain applyBalanceDelta; an absent wallet starts at zero (as simulate's commit does).
local function apply_balance_delta(balance, delta)
  local base = balance or no_balance_change
  local next_balance = {
    available_minor = base.available_minor + delta.available_minor,
    held_minor = base.held_minor + delta.held_minor,
  }
  invariant(is_int(next_balance.available_minor) and is_int(next_balance.held_minor), 'balance overflow')
  invariant(next_balance.held_minor >= 0, 'held balance never negative')
  return next_balance
end

local function write_balance(key, b)
  redis.call('HSET', key, 'available', json_int(b.available_minor), 'held', json_int(b.held_minor), 'loaded', '1')
end

-- Decision records ---------------------------------------------------------------------------

-- One key per JIT token holds the StoredDecision of a decided message and/or `applied` (the
-- kind of an informative message already applied). Marqeta never reuses a token across the
-- two, but the domain keeps them apart, so a record can carry both without one erasing the other.
local function enc_record(stored, applied)
  if stored == nil then return json_object({ 'applied', opt_str(applied) }) end
  return '{"jit_token":' .. json_str(stored.jit_token) .. ',"kind":' .. json_str(stored.kind)
    .. ',"amount_minor":' .. json_int(stored.amount_minor) .. ',"outcome":' .. json_str(stored.outcome)
    .. opt_member(',"decline_reason":', opt_str(stored.decline_reason)) .. opt_member(',"memo":', opt_str(stored.memo))
    .. opt_member(',"available_minor":', opt_int(stored.available_minor))
    .. opt_member(',"ledger_minor":', opt_int(stored.ledger_minor))
    .. opt_member(',"applied":', opt_str(applied)) .. '}'
end

-- The record as stored: the decision, plus marks that are not part of a reply.
-- - `by`, `by_at_ms`: the newest request it was answered to (the service's request_id, and when
--   that request was received): the decider, or a resend a replay answered approve in time.
--   release_after_timeout.lua reads them to leave an approval a newer request was answered.
-- - `undone`: the service's decline stored over an approval it undid (release_after_timeout.lua).
--   That approval's event is on its way under the id a restore would use, so settlement's
--   restore leaves such a record alone (apply.lua), where it holds a purchase Marqeta's
--   stand-in approved over any other decline of ours (ADR 0010).
-- Every rewrite of a record keeps `undone` (read_record gives it).
-- record_json: enc_record's output for a stored decision (an object that has members).
-- Positional marks: decide.lua calls this for every decision, and a table per call costs.
local function with_marks(record_json, by, by_at_ms, undone)
  local members = ''
  if by ~= nil then members = ',"by":' .. json_str(by) .. ',"by_at_ms":' .. json_int(by_at_ms) end
  if undone == true then members = members .. ',"undone":true' end
  if members == '' then return record_json end
  return string.sub(record_json, 1, -2) .. members .. '}'
end

local function enc_stored_record(stored, applied, by, by_at_ms, undone)
  invariant(stored ~= nil, 'marks belong to a stored decision')
  return with_marks(enc_record(stored, applied), by, by_at_ms, undone)
end

-- { stored = StoredDecision or nil, applied = kind or nil, by = request_id or nil, by_at_ms,
--   undone = true or nil }
local function read_record(key, jit_token)
  local r = get_json(key)
  if r == nil then return { } end
  corrupt((r.by == nil and r.by_at_ms == nil) or (type(r.by) == 'string' and is_int(r.by_at_ms)),
    'bad record marks ', key)
  corrupt(r.undone == nil or (r.undone == true and r.outcome == 'decline'), 'bad record mark undone ', key)
  local out = { applied = r.applied, by = r.by, by_at_ms = r.by_at_ms, undone = r.undone }
  if r.outcome ~= nil then
    corrupt(r.jit_token == jit_token and type(r.kind) == 'string' and is_int(r.amount_minor),
      'bad stored decision ', key)
    out.stored = {
      jit_token = r.jit_token, kind = r.kind, amount_minor = r.amount_minor, outcome = r.outcome,
      decline_reason = r.decline_reason, memo = r.memo,
      available_minor = r.available_minor, ledger_minor = r.ledger_minor,
    }
  end
  return out
end

-- record_json: enc_record's output, encoded before the first write of the script.
local function write_record(key, record_json, ttl_s)
  redis.call('SET', key, record_json, 'EX', string.format('%d', ttl_s))
end

-- Requests -----------------------------------------------------------------------------------

local function read_request()
  local ok, req = pcall(cjson.decode, ARGV[1])
  if not ok or type(req) ~= 'table' then fail('AFC_CARD_STATE_INVALID', 'ARGV[1] is not a JSON object') end
  return req
end

local function need(ok, field)
  if not ok then fail('AFC_CARD_STATE_INVALID', 'bad request field ' .. field) end
end

local function need_string(req, field, optional)
  local v = req[field]
  need((optional and v == nil) or (type(v) == 'string' and #v <= 256), field)
  return v
end

local function need_int(req, field, optional)
  local v = req[field]
  need((optional and v == nil) or is_int(v), field)
  return v
end

local function need_bool(req, field)
  local v = req[field]
  need(v == nil or type(v) == 'boolean', field)
  return v == true
end

-- The message fields every script and every event share, checked.
local function read_message(req)
  local m = {
    kind = need_string(req, 'kind'), method = need_string(req, 'method'), jit_token = need_string(req, 'jit_token'),
    card_token = need_string(req, 'card_token'), user_token = need_string(req, 'user_token'),
    currency = need_string(req, 'currency'), mcc = need_string(req, 'mcc'), mid = need_string(req, 'mid'),
    merchant_country = need_string(req, 'merchant_country'),
    original_jit_token = need_string(req, 'original_jit_token', true),
    transaction_token = need_string(req, 'transaction_token', true), network = need_string(req, 'network', true),
    merchant_name = need_string(req, 'merchant_name', true),
    now_ms = need_int(req, 'now_ms'), day_start = need_int(req, 'day_start'), week_start = need_int(req, 'week_start'),
    month_start = need_int(req, 'month_start'), decision_ttl_s = need_int(req, 'decision_ttl_s'),
    single_message = need_bool(req, 'single_message'),
    request_id = need_string(req, 'request_id', true),
    -- Scripts that may close a hold (apply, release) are given it; store_hold asserts it is there.
    closed_hold_ttl_s = need_int(req, 'closed_hold_ttl_s', true),
  }
  need(m.decision_ttl_s > 0 and m.now_ms >= 0, 'decision_ttl_s')
  need(m.closed_hold_ttl_s == nil or m.closed_hold_ttl_s > 0, 'closed_hold_ttl_s')
  m.starts = { day = m.day_start, week = m.week_start, month = m.month_start }
  return m
end

-- Outbox events ------------------------------------------------------------------------------

-- m: the message (read_message); e: type, program (nil: unknown card), amount_minor,
-- decline_reason, memo, note, counter_deltas, balance_delta, hold (nil: none). Encoded before
-- the first write; emitted (XADD) after the state writes.
local function prepare_event(m, e)
  local event_id = m.jit_token .. ':' .. e.type
  local program = 'null'
  if e.program ~= nil then program = json_str(e.program) end
  local json = '{"event_id":' .. json_str(event_id) .. ',"type":' .. json_str(e.type)
    .. ',"occurred_at_ms":' .. json_int(m.now_ms) .. ',"kind":' .. json_str(m.kind) .. ',"method":' .. json_str(m.method)
    .. ',"jit_token":' .. json_str(m.jit_token) .. opt_member(',"original_jit_token":', opt_str(m.original_jit_token))
    .. opt_member(',"transaction_token":', opt_str(m.transaction_token)) .. opt_member(',"network":', opt_str(m.network))
    .. ',"card_token":' .. json_str(m.card_token) .. ',"user_token":' .. json_str(m.user_token) .. ',"program":' .. program
    .. ',"amount_minor":' .. json_int(e.amount_minor) .. ',"currency":' .. json_str(m.currency)
    .. ',"merchant":{"mcc":' .. json_str(m.mcc) .. ',"mid":' .. json_str(m.mid) .. ',"country":' .. json_str(m.merchant_country)
    .. opt_member(',"name":', opt_str(m.merchant_name)) .. '}'
    .. opt_member(',"decline_reason":', opt_str(e.decline_reason)) .. opt_member(',"memo":', opt_str(e.memo))
    .. opt_member(',"note":', opt_str(e.note))
    .. ',"counter_deltas":' .. enc_counted_list(e.counter_deltas or {})
    .. ',"balance_delta":' .. enc_balance_delta(e.balance_delta or no_balance_change)
    .. ',"hold":' .. enc_hold_snapshot(e.hold) .. '}'
  return { json = json, event_id = event_id }
end

-- No MAXLEN (it would drop events): the relay deletes what the broker confirmed, and decide.lua
-- declines new decisions while the stream is at its bound (outbox_full).
local function emit(outbox_key, prepared)
  return redis.call('XADD', outbox_key, '*', 'event', prepared.json)
end
