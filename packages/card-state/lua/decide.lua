-- decide.lua: one JIT decision (authorization, incremental, account verification, balance
-- inquiry), atomically: replay check, card and cardholder state, the rules of @afc/domain
-- decideAuthorization in rule_order, and on approval the hold, counters, wallet, stored
-- decision and outbox event. lib.lua is prepended.
--
-- KEYS[1] card state      KEYS[2] card controls   KEYS[3] cardholder state (request's user)
-- KEYS[4] card counters   KEYS[5] user balance    KEYS[6] decision(jit)
-- KEYS[7] hold(jit)       KEYS[8] hold(original_jit or jit)            KEYS[9] outbox
-- ARGV[1] JSON request (see src/requests.ts): the message, amount_minor, now_year/now_month,
--         window starts (domain windowStarts), decision_ttl_s, deadline_at_ms,
--         outbox_max_events.
--
-- Replies one JSON object: {status:'missing', missing:[...]} (load them, call again) or
-- {status:'decided', outcome, ...}.

local K = {
  card = KEYS[1], controls = KEYS[2], cardholder = KEYS[3], counters = KEYS[4], balance = KEYS[5],
  decision = KEYS[6], hold = KEYS[7], original = KEYS[8], outbox = KEYS[9],
}

local decision_kinds = { authorization = true, incremental = true, account_verification = true, balance_inquiry = true }
local money = { authorization = true, incremental = true }
local with_balance = { authorization = true, incremental = true, balance_inquiry = true }

-- domain decline_memos, plus card_user_mismatch (service-level, see README). A function, not a
-- table: the table is built only for a decline (a script defines everything anew on each call).
local function reason_of(memo)
  local reasons = {
    replay_mismatch = 'DUPLICATE_TRANSACTION', card_not_found = 'INVALID_CARD', card_user_mismatch = 'INVALID_CARD',
    card_not_active = 'CARD_NOT_ACTIVE', card_expired = 'EXPIRED_CARD',
    cardholder_not_found = 'CARDHOLDER_NOT_ACTIVE', cardholder_not_active = 'CARDHOLDER_NOT_ACTIVE',
    amount_invalid = 'INVALID_AMOUNT', amount_zero = 'INVALID_AMOUNT', verification_amount_not_zero = 'INVALID_AMOUNT',
    original_not_found = 'TRANSACTION_NOT_PERMITTED', too_many_increments = 'TRANSACTION_NOT_PERMITTED',
    currency_mismatch = 'TRANSACTION_NOT_PERMITTED', mcc_blocked = 'INVALID_MERCHANT', mcc_not_allowed = 'INVALID_MERCHANT',
    merchant_blocked = 'INVALID_MERCHANT', country_blocked = 'TRANSACTION_NOT_PERMITTED',
    per_transaction_limit = 'AMOUNT_LIMIT_EXCEEDED', daily_amount_limit = 'AMOUNT_LIMIT_EXCEEDED',
    weekly_amount_limit = 'AMOUNT_LIMIT_EXCEEDED', monthly_amount_limit = 'AMOUNT_LIMIT_EXCEEDED',
    daily_count_limit = 'TRANSACTION_COUNT_LIMIT_EXCEEDED', weekly_count_limit = 'TRANSACTION_COUNT_LIMIT_EXCEEDED',
    monthly_count_limit = 'TRANSACTION_COUNT_LIMIT_EXCEEDED', balance_not_found = 'INSUFFICIENT_FUNDS',
    insufficient_funds = 'INSUFFICIENT_FUNDS', timeout = 'TRANSACTION_NOT_PERMITTED',
  }
  return reasons[memo]
end

local function read_decide_request()
  local req = read_request()
  local m = read_message(req)
  need(decision_kinds[m.kind] == true, 'kind')
  -- Any integer reaches the rules: amount_invalid declines what is out of range, as the domain does.
  m.amount_minor = need_int(req, 'amount_minor')
  m.now_year = need_int(req, 'now_year')
  m.now_month = need_int(req, 'now_month')
  m.deadline_at_ms = need_int(req, 'deadline_at_ms')
  m.outbox_max_events = need_int(req, 'outbox_max_events')
  return m
end

-- domain deadline_passed, from the Redis server's clock: the script may run long after the
-- service gave up on it (queued behind a stalled Redis, or resent after a reconnect), and only
-- the clock at run time can tell. Assumes the service's and Redis' clocks agree to well within
-- the margin between our deadline and Marqeta's 3 s (both NTP-synchronised); a Redis clock
-- ahead only declines a little early, which is safe. No grace: a late decline is always safe.
-- Redis 7 replicates a script's effects, not the script, so reading TIME before writing is allowed.
local function deadline_passed(m)
  local t = redis.call('TIME')
  local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  return now_ms > m.deadline_at_ms
end

-- Card state ---------------------------------------------------------------------------------

local function read_card(key, card_token)
  local card = get_json(key)
  if card == nil or card.unknown == true then return card end
  corrupt(card.card_token == card_token and type(card.user_token) == 'string' and valid_program(card.program)
    and type(card.state) == 'string' and is_int(card.expiration_year) and is_int(card.expiration_month)
    and card.expiration_month >= 1 and card.expiration_month <= 12 and type(card.currency) == 'string',
    'bad card state ', key)
  return card
end

local function read_cardholder(key, user_token)
  local holder = get_json(key)
  if holder == nil or holder.unknown == true then return holder end
  corrupt(holder.user_token == user_token and valid_program(holder.program) and type(holder.status) == 'string',
    'bad cardholder state ', key)
  return holder
end

local function string_list(list, what)
  corrupt(type(list) == 'table', 'controls: not a list: ', what)
  for i = 1, #list do corrupt(type(list[i]) == 'string', 'controls: a non-string in ', what) end
end

local limit_fields = {
  'per_transaction_limit_minor', 'daily_limit_minor', 'weekly_limit_minor', 'monthly_limit_minor',
  'daily_count_limit', 'weekly_count_limit', 'monthly_count_limit',
}

-- domain assertControls: limits are natural numbers or absent; the lists hold strings. The
-- rules read the decoded document as it is (lists are scanned, not turned into sets: each is
-- looked at once per decision).
local function read_controls(key)
  local c = get_json(key)
  if c == nil then return nil end
  for i = 1, #limit_fields do
    local f = limit_fields[i]
    corrupt(c[f] == nil or is_natural(c[f]), 'controls: not a natural number: ', f)
  end
  string_list(c.mcc_allow, 'mcc_allow')
  string_list(c.mcc_block, 'mcc_block')
  string_list(c.blocked_merchant_ids, 'blocked_merchant_ids')
  string_list(c.blocked_countries, 'blocked_countries')
  return c
end

-- Replies --------------------------------------------------------------------------------------

local function reply_missing(missing)
  local fragments = {}
  for i, piece in ipairs(missing) do fragments[i] = json_str(piece) end
  return json_object({ 'status', json_str('missing'), 'missing', json_array(fragments) })
end

-- stored_json: the StoredDecision as encoded for the record (nil: none stored). hold_json:
-- approvals only ('null' for an account verification, which holds nothing).
local function reply_decided(outcome, stored_json, extra)
  return '{"status":"decided","outcome":' .. json_str(outcome) .. ',"stored":' .. (stored_json or 'null')
    .. opt_member(',"decline_reason":', opt_str(extra.decline_reason)) .. opt_member(',"memo":', opt_str(extra.memo))
    .. opt_member(',"hold":', extra.hold_json or false)
    .. opt_member(',"event_id":', opt_str(extra.event_id)) .. opt_member(',"stream_id":', opt_str(extra.stream_id)) .. '}'
end

-- Replay (domain decideAuthorization's first step): the same token, kind and amount gets the
-- stored answer and counts nothing; another kind or amount is declined, and nothing is stored
-- (the first answer stays the answer) and nothing emitted (its event_id would be the first's).
-- An approval answered to a newer request than the one it was last answered to (Marqeta
-- resends a token when it did not get an answer, and acts on the answer to its resend): that
-- request now owns it, and an older request's timeout release must leave it
-- (release_after_timeout.lua). Not when this replay is itself past its deadline: the service
-- answers it a decline, and that answer is Marqeta's latest.
local function take_approval(m, record)
  local newer = record.by == nil or (record.by ~= m.request_id and m.now_ms >= record.by_at_ms)
  if m.request_id == nil or not newer or deadline_passed(m) then return end
  local record_json = enc_stored_record(record.stored, record.applied, m.request_id, m.now_ms, record.undone)
  redis.call('SET', K.decision, record_json, 'KEEPTTL')
end

local function replay_reply(m, record)
  local stored = record.stored
  if stored.kind == m.kind and stored.amount_minor == m.amount_minor then
    if stored.outcome == 'approve' then take_approval(m, record) end
    return reply_decided('replay', enc_record(stored, nil), {})
  end
  return reply_decided('decline', nil, { decline_reason = reason_of('replay_mismatch'), memo = 'replay_mismatch' })
end

-- The pieces the service must load before the rules can run. A tombstone counts as loaded.
-- The balance is needed for personal cards only; with the card absent, the cardholder (when
-- loaded) tells the program, else the next call asks for it.
local function missing_pieces(s)
  local missing = {}
  if s.card == nil then missing[#missing + 1] = 'card' end
  if s.controls == nil then missing[#missing + 1] = 'controls' end
  if s.holder == nil then missing[#missing + 1] = 'cardholder' end
  if s.counters == nil then missing[#missing + 1] = 'counters' end
  local program = (s.card and s.card.program) or (s.holder and s.holder.program)
  if not s.balance.loaded and program == 'personal' then missing[#missing + 1] = 'balance' end
  return missing
end

-- The rules (domain decideAuthorization) ---------------------------------------------------------

-- domain identityFailure, once the card is known to be this user's. Expired from the first day
-- of the month after expiration_month (now_year/now_month: domain civilFromDays, from TS).
local function identity_failure(m, card, holder)
  if card.state ~= 'active' then return 'card_not_active' end
  if m.now_year * 12 + m.now_month > card.expiration_year * 12 + card.expiration_month then
    return 'card_expired'
  end
  if holder.unknown == true then return 'cardholder_not_found' end
  if holder.status ~= 'active' then return 'cardholder_not_active' end
  return nil
end

local function context_of(m, s)
  local counters = current_counters(s.counters, m.starts)
  return {
    kind = m.kind, amount = m.amount_minor, currency = m.currency, mcc = m.mcc, mid = m.mid,
    country = m.merchant_country, card = s.card, controls = s.controls, counters = counters,
    starts = { day = counters.day.start, week = counters.week.start, month = counters.month.start },
    balance = s.balance.value, original = s.original,
  }
end

local function over(limit, used, adding)
  return limit ~= nil and used + adding > limit
end

-- An incremental grows one purchase: the per-transaction limit applies to the whole of it.
local function purchase_so_far(c)
  if c.original == nil then return 0 end
  return c.original.amount_minor + c.original.captured_minor
end

local function personal(c)
  return c.card.program == 'personal'
end

local function contains(list, value)
  for i = 1, #list do
    if list[i] == value then return true end
  end
  return false
end

-- domain `rules`, in their order: the memo of the first that fails, nil when none does. One
-- function, not a table of closures: a script defines all its functions anew on every call.
local function rule_failure(c)
  local kind, amount, k, n = c.kind, c.amount, c.controls, c.counters
  local is_money = money[kind] == true
  if not readable(amount) then return 'amount_invalid' end
  if is_money and amount == 0 then return 'amount_zero' end
  if kind == 'account_verification' and amount ~= 0 then return 'verification_amount_not_zero' end
  if kind == 'incremental' then
    if c.original == nil or c.original.card_token ~= c.card.card_token or c.original.authorized_minor == 0 then
      return 'original_not_found'
    end
    if not can_count_in(c.original.counted, c.starts) then return 'too_many_increments' end
  end
  if is_money then
    if c.currency ~= c.card.currency then return 'currency_mismatch' end
    if contains(k.mcc_block, c.mcc) then return 'mcc_blocked' end
    if #k.mcc_allow > 0 and not contains(k.mcc_allow, c.mcc) then return 'mcc_not_allowed' end
    if contains(k.blocked_merchant_ids, c.mid) then return 'merchant_blocked' end
    if contains(k.blocked_countries, c.country) then return 'country_blocked' end
    if over(k.per_transaction_limit_minor, purchase_so_far(c), amount) then return 'per_transaction_limit' end
    if over(k.daily_limit_minor, n.day.amount_minor, amount) then return 'daily_amount_limit' end
    if over(k.weekly_limit_minor, n.week.amount_minor, amount) then return 'weekly_amount_limit' end
    if over(k.monthly_limit_minor, n.month.amount_minor, amount) then return 'monthly_amount_limit' end
  end
  if kind == 'authorization' then
    if over(k.daily_count_limit, n.day.count, 1) then return 'daily_count_limit' end
    if over(k.weekly_count_limit, n.week.count, 1) then return 'weekly_count_limit' end
    if over(k.monthly_count_limit, n.month.count, 1) then return 'monthly_count_limit' end
  end
  if with_balance[kind] and personal(c) and c.balance == nil then return 'balance_not_found' end
  if is_money and personal(c) and (c.balance and c.balance.available_minor or 0) < amount then
    return 'insufficient_funds'
  end
  return nil
end

-- domain balanceAnswer: the wallet for personal cards; for business the smallest allowance left.
local function balance_answer(c)
  if personal(c) then
    local b = c.balance
    return { outcome = 'balance', available_minor = b.available_minor,
      ledger_minor = b.available_minor + b.held_minor, memo = 'wallet_balance' }
  end
  local k, n = c.controls, c.counters
  local counted_out = over(k.daily_count_limit, n.day.count, 1) or over(k.weekly_count_limit, n.week.count, 1)
    or over(k.monthly_count_limit, n.month.count, 1)
  local left = {}
  if k.per_transaction_limit_minor ~= nil then left[#left + 1] = k.per_transaction_limit_minor end
  if k.daily_limit_minor ~= nil then left[#left + 1] = k.daily_limit_minor - n.day.amount_minor end
  if k.weekly_limit_minor ~= nil then left[#left + 1] = k.weekly_limit_minor - n.week.amount_minor end
  if k.monthly_limit_minor ~= nil then left[#left + 1] = k.monthly_limit_minor - n.month.amount_minor end
  if #left == 0 and not counted_out then
    return { outcome = 'balance', available_minor = 0, ledger_minor = 0, memo = 'unlimited' }
  end
  local available = 0
  if not counted_out then available = math.max(0, math.min(unpack(left))) end
  return { outcome = 'balance', available_minor = available, ledger_minor = available, memo = 'remaining_allowance' }
end

-- domain approve: a new hold, or the original grown by the incremental; counted in today's windows.
local function approve(m, c)
  local base = c.original or {
    jit_token = m.jit_token, card_token = c.card.card_token, user_token = c.card.user_token,
    program = c.card.program, amount_minor = 0, authorized_minor = 0, released_minor = 0, captured_minor = 0,
    on_expiry = m.single_message and 'capture' or 'release', counted = {},
  }
  local count = 0
  if c.kind == 'authorization' then count = 1 end
  local entry = counted_in(c.starts, c.amount, count)
  local hold = copy_hold(base)
  hold.amount_minor = base.amount_minor + c.amount
  hold.authorized_minor = base.authorized_minor + c.amount
  hold.counted = add_counted(base.counted, entry)
  assert_hold(hold)
  return { outcome = 'approve', hold = hold, counter_deltas = { entry }, balance_delta = hold_delta(hold.program, c.amount) }
end

local function decide_rules(m, s)
  local c = context_of(m, s)
  local failure = rule_failure(c)
  if failure ~= nil then return { outcome = 'decline', memo = failure } end
  if c.kind == 'balance_inquiry' then return balance_answer(c) end
  if c.kind == 'account_verification' then
    return { outcome = 'approve', hold = nil, counter_deltas = {}, balance_delta = no_balance_change }
  end
  return approve(m, c)
end

local function decide(m, s)
  local failure = identity_failure(m, s.card, s.holder)
  if failure ~= nil then return { outcome = 'decline', memo = failure } end
  corrupt(s.holder.program == s.card.program, 'card and cardholder in one program')
  return decide_rules(m, s)
end

-- domain toStored
local function to_stored(m, d)
  local stored = { jit_token = m.jit_token, kind = m.kind, amount_minor = m.amount_minor, outcome = d.outcome }
  if d.outcome == 'decline' then
    stored.decline_reason = reason_of(d.memo)
    stored.memo = d.memo
  elseif d.outcome == 'balance' then
    stored.available_minor = d.available_minor
    stored.ledger_minor = d.ledger_minor
    stored.memo = d.memo
  end
  return stored
end

-- Writes ---------------------------------------------------------------------------------------

local function event_of(m, s, d, stored)
  if d.outcome == 'balance' then return nil end
  local event_type = 'authorization.declined'
  if d.outcome == 'approve' then
    event_type = (m.kind == 'incremental') and 'authorization.incremental' or 'authorization.approved'
  end
  -- A late decline runs before the card is read: s.card may be nil.
  return prepare_event(m, {
    type = event_type, program = s.card and s.card.program or nil, amount_minor = m.amount_minor,
    decline_reason = stored.decline_reason, memo = stored.memo,
    counter_deltas = d.counter_deltas, balance_delta = d.balance_delta, hold = d.hold,
  })
end

-- Everything that can fail (arithmetic checks, encoding) runs before the first write. Each
-- document is encoded once: the record's JSON is the reply's `stored` plus `applied` and the
-- marks (with_marks appends them), the stored hold's JSON the reply's `hold`.
local function finish(m, s, d, applied)
  local stored = to_stored(m, d)
  local stored_json = enc_record(stored, nil)
  local record_json = stored_json
  if applied ~= nil then record_json = enc_record(stored, applied) end
  record_json = with_marks(record_json, m.request_id, m.now_ms)
  local event = event_of(m, s, d, stored)
  local counters, balance, hold_json = nil, nil, nil
  if d.outcome == 'approve' then hold_json = 'null' end
  if d.outcome == 'approve' and d.hold ~= nil then
    counters = apply_counter_deltas(s.counters, d.counter_deltas)
    if s.card.program == 'personal' then balance = apply_balance_delta(s.balance.value, d.balance_delta) end
    hold_json = enc_hold(d.hold) -- approve asserted it
    -- An approval holds money (amount_zero is a rule), so the hold is open: no TTL.
    store_hold(m.kind == 'incremental' and K.original or K.hold, hold_json, d.hold.amount_minor, nil)
    write_counters(K.counters, counters)
  end
  if balance ~= nil then write_balance(K.balance, balance) end
  write_record(K.decision, record_json, m.decision_ttl_s)
  if event == nil then return reply_decided(d.outcome, stored_json, {}) end
  return reply_decided(d.outcome, stored_json, {
    decline_reason = stored.decline_reason, memo = stored.memo, hold_json = hold_json,
    event_id = event.event_id, stream_id = emit(K.outbox, event),
  })
end

local not_read = { loaded = false }

-- The wallet only for personal cards (the program from the card, else the cardholder): a
-- business decision never looks at it.
local function load_state(m, card)
  local holder = read_cardholder(K.cardholder, m.user_token)
  local s = {
    card = card, holder = holder, controls = read_controls(K.controls),
    counters = read_counters(K.counters), balance = not_read,
  }
  local program = (card and card.program) or (holder and holder.program)
  if program == 'personal' then s.balance = read_balance(K.balance) end
  -- The hold named by original_jit_funding_token; none without one (domain simulate).
  if m.kind == 'incremental' and m.original_jit_token ~= nil then
    s.original = read_hold(K.original, m.original_jit_token)
  end
  return s
end

local m = read_decide_request()
local record = read_record(K.decision, m.jit_token)
if record.stored ~= nil then return replay_reply(m, record) end
-- domain hold_exists (its rule comes after the deadline's, below): Marqeta stood in and the
-- advice already holds and counts this purchase.
local stood_in = m.kind == 'authorization' and redis.call('EXISTS', K.hold) == 1
-- Service-level outbox_full: the partition's outbox holds outbox_max_events (the broker has
-- been away long enough). A decision is declined and changes nothing (no record, no event):
-- Redis keeps its memory for the holds and counters, and a retry is decided afresh once the
-- relay has moved events. A balance inquiry writes no event, and Marqeta's stand-in is answered
-- as it happened: neither is refused.
if m.kind ~= 'balance_inquiry' and not stood_in and redis.call('XLEN', K.outbox) >= m.outbox_max_events then
  return reply_decided('decline', nil, { decline_reason = 'TRANSACTION_NOT_PERMITTED', memo = 'outbox_full' })
end
-- Same order as the domain: after the replay rule, before anything is read or loaded. Stores the
-- decline release_after_timeout would store (memo timeout, same kind and amount).
if deadline_passed(m) then
  return finish(m, { card = nil }, { outcome = 'decline', memo = 'timeout' }, record.applied)
end
-- Answered approve as a replay of Marqeta's stand-in decision; nothing changed, stored or emitted.
if stood_in then
  local stand_in = { jit_token = m.jit_token, kind = m.kind, amount_minor = m.amount_minor, outcome = 'approve' }
  return reply_decided('replay', enc_record(stand_in, nil), {})
end
local card = read_card(K.card, m.card_token)
-- domain card_not_found (toStored: nothing stored), and the service-level card_user_mismatch:
-- the card is another cardholder's, whose keys live in another partition. A message about a
-- card that is not this cardholder's changes nothing: no record, no event.
if card ~= nil and (card.unknown == true or card.user_token ~= m.user_token) then
  local memo = 'card_not_found'
  if card.unknown ~= true then memo = 'card_user_mismatch' end
  return reply_decided('decline', nil, { decline_reason = reason_of(memo), memo = memo })
end
local s = load_state(m, card)
local missing = missing_pieces(s)
if #missing > 0 then return reply_missing(missing) end
return finish(m, s, decide(m, s), record.applied)
