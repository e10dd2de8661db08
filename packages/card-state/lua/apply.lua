-- apply.lua: one informative JIT message (reversal, clearing, refund, advice), atomically, as
-- @afc/domain simulate's applyStep does it: a repeated jit_token is a duplicate with no effect;
-- the hold is looked up by original_jit_token (else jit_token); the owner is the hold, else the
-- card; then applyReversal / applyClearing / applyRefund / applyAdvice. lib.lua is prepended.
--
-- KEYS[1] card state   KEYS[2] card counters   KEYS[3] user balance   KEYS[4] decision(jit)
-- KEYS[5] hold(original_jit or jit)             KEYS[6] outbox
-- ARGV[1] JSON request (see src/requests.ts): the message, amount_minor (absent: a reversal of
--         everything still held), final, refund_mode, restore, window starts, decision_ttl_s,
--         closed_hold_ttl_s.
--
-- restore (an advice only; settlement's restoreApproval): an authorization Marqeta approved
-- that Redis knows nothing of (lost with Redis, or approved while the gateway was unreachable),
-- held and counted as the advice that finds no hold, and reported as the approval itself
-- (event `<jit>:authorization.approved`, the id the authorizer's own would have had). Redis
-- knowing the token (an approval, an applied marker, a hold something was authorized into: an
-- approval's, an advice's, a force post's) means the purchase is already accounted for in its
-- own way: {status:'known'}, nothing written. Our decline is not (unless it was stored over an
-- approval it undid): Marqeta's stand-in approved what our lost answer declined. An empty hold
-- a reversal left (lost hold, reversal first) gets the advice's adjustment: the purchase less
-- what was reversed beyond the hold.
--
-- Replies {status:'duplicate'} | {status:'known'} | {status:'missing', missing} |
-- {status:'owner_mismatch', ...} | {status:'applied', note, ...}.

local K = { card = KEYS[1], counters = KEYS[2], balance = KEYS[3], decision = KEYS[4], hold = KEYS[5], outbox = KEYS[6] }

local event_types = {
  reversal = 'authorization.reversed', clearing = 'transaction.cleared',
  refund = 'transaction.refunded', advice = 'authorization.advice',
}

local function read_apply_request()
  local req = read_request()
  local m = read_message(req)
  need(event_types[m.kind] ~= nil, 'kind')
  -- Only a reversal may leave the amount out. Out-of-range integers reach the effects, which
  -- ignore them with note invalid_amount, as the domain does.
  m.amount_minor = need_int(req, 'amount_minor', m.kind == 'reversal')
  m.final = need_bool(req, 'final')
  m.refund_mode = need_string(req, 'refund_mode')
  need(m.refund_mode == 'counters_unchanged' or m.refund_mode == 'restore_counters', 'refund_mode')
  m.restore = need_bool(req, 'restore')
  need(not m.restore or (m.kind == 'advice' and m.original_jit_token == nil), 'restore')
  return m
end

local function nothing(hold, note)
  return { hold = hold, counter_deltas = {}, balance_delta = no_balance_change, released_minor = 0,
    captured_minor = 0, note = note }
end

local function with_note(movement, note)
  movement.note = note
  return movement
end

-- domain emptyHold: the purchase (the message's original or own token, the owner) holds nothing yet.
local function empty_hold(owner, m)
  local on_expiry = 'release'
  if m.single_message then on_expiry = 'capture' end
  return {
    jit_token = m.original_jit_token or m.jit_token, card_token = owner.card_token, user_token = owner.user_token,
    program = owner.program, amount_minor = 0, authorized_minor = 0, released_minor = 0, captured_minor = 0,
    on_expiry = on_expiry, counted = {},
  }
end

-- domain withReversedBeyond
local function with_reversed_beyond(hold, amount_minor)
  if amount_minor == 0 then return hold end
  hold.reversed_beyond_minor = (hold.reversed_beyond_minor or 0) + amount_minor
  assert_hold(hold)
  return hold
end

-- domain applyReversal: what it asked beyond the hold is remembered on it (an empty one when
-- there is none), for a stand-in's advice that may come after it.
local function apply_reversal(hold, owner, m)
  local amount_minor = m.amount_minor
  if hold == nil then
    if amount_minor == nil or not readable(amount_minor) or amount_minor == 0 then return nothing(nil, 'hold_not_found') end
    return nothing(with_reversed_beyond(empty_hold(owner, m), amount_minor), 'hold_not_found')
  end
  if amount_minor ~= nil and not readable(amount_minor) then return nothing(hold, 'invalid_amount') end
  local asked = amount_minor or hold.amount_minor
  local release = math.min(asked, hold.amount_minor)
  local note = 'released'
  if asked > release then note = 'release_capped' end
  local movement = release_from_hold(hold, release, false)
  movement.hold = with_reversed_beyond(movement.hold, asked - release)
  return with_note(movement, note)
end

-- domain captureExcess: captured_minor is all that was cleared, so the purchase counts again once.
local function capture_excess(hold, excess)
  hold.authorized_minor = hold.authorized_minor + excess
  hold.captured_minor = hold.captured_minor + excess
  assert_hold(hold)
  return hold
end

-- domain applyClearing: consumes the hold oldest first; the excess is spend counted today (a
-- count only when a fully reversed purchase first clears after all); no hold is a force post.
local function apply_clearing(hold, owner, m, starts)
  local amount = m.amount_minor
  if not readable(amount) then return nothing(hold, 'invalid_amount') end
  if hold == nil then
    local deltas = {}
    if amount > 0 then deltas = { counted_in(starts, amount, 1) } end
    return { hold = capture_excess(empty_hold(owner, m), amount), counter_deltas = deltas,
      balance_delta = spend_delta(owner.program, amount), released_minor = 0, captured_minor = 0, note = 'force_post' }
  end
  local consumed = math.min(amount, hold.amount_minor)
  local excess = amount - consumed
  local recount = 0
  if hold.amount_minor == 0 and hold.captured_minor == 0 and excess > 0 then recount = 1 end
  local captured = capture_from_hold(hold, consumed, amount > 0)
  local deltas = {}
  if excess > 0 then deltas[1] = counted_in(starts, excess, recount) end
  local balance_delta = sum_balance_deltas(captured.balance_delta, spend_delta(hold.program, excess))
  local next_hold = captured.hold
  if excess > 0 then next_hold = capture_excess(next_hold, excess) end
  local released = 0
  if m.final and next_hold.amount_minor > 0 then
    local rest = release_from_hold(next_hold, next_hold.amount_minor, false)
    for _, d in ipairs(rest.counter_deltas) do deltas[#deltas + 1] = d end
    balance_delta = sum_balance_deltas(balance_delta, rest.balance_delta)
    next_hold = rest.hold
    released = rest.released_minor
  end
  local note = 'captured'
  if excess > 0 then note = 'over_captured' end
  return { hold = next_hold, counter_deltas = deltas, balance_delta = balance_delta,
    released_minor = released, captured_minor = consumed, note = note }
end

-- domain applyRefund: credits a personal wallet; restore_counters gives the amount back today.
local function apply_refund(program, m, starts)
  local amount = m.amount_minor
  if not readable(amount) then return nothing(nil, 'invalid_amount') end
  local credit = no_balance_change
  if program == 'personal' then credit = { available_minor = amount, held_minor = 0 } end
  local restore = m.refund_mode == 'restore_counters' and amount > 0
  local note = 'refund_counters_unchanged'
  if program == 'personal' then note = 'refund_credited' elseif restore then note = 'refund_counters_restored' end
  local deltas = {}
  if restore then deltas[1] = counted_in(starts, -amount, 0) end
  return { hold = nil, counter_deltas = deltas, balance_delta = credit, released_minor = 0, captured_minor = 0, note = note }
end

local function standin_hold(owner, m, starts)
  local amount = m.amount_minor
  local entry = counted_in(starts, amount, 1)
  local counted, deltas = {}, {}
  if amount > 0 then
    counted = { entry }
    deltas = { entry }
  end
  local created = empty_hold(owner, m)
  created.amount_minor = amount
  created.authorized_minor = amount
  created.counted = counted
  assert_hold(created)
  return { hold = created, counter_deltas = deltas, balance_delta = hold_delta(owner.program, amount),
    released_minor = 0, captured_minor = 0, note = 'standin_held' }
end

-- domain applyAdvice: it already happened, so held past any limit; a hold we have is moved to
-- the advised amount less what was cleared and reversed beyond the hold, never counted twice;
-- one that no longer counts its purchase (nothing held, nothing cleared) counts it again.
local function apply_advice(hold, owner, m, starts)
  if not readable(m.amount_minor) then return nothing(hold, 'invalid_amount') end
  if hold == nil then return standin_hold(owner, m, starts) end
  -- domain capturedAtExpiry: a single-message advice's money left when it was approved.
  if m.single_message and hold.on_expiry ~= 'capture' then
    hold = copy_hold(hold)
    hold.on_expiry = 'capture'
  end
  local target = math.max(0, m.amount_minor - hold.captured_minor - (hold.reversed_beyond_minor or 0))
  if target < hold.amount_minor then
    return with_note(release_from_hold(hold, hold.amount_minor - target, false), 'advice_lowered')
  end
  if target == hold.amount_minor then return nothing(hold, 'advice_unchanged') end
  local raise = target - hold.amount_minor
  local recount = 0
  if hold.amount_minor == 0 and hold.captured_minor == 0 then recount = 1 end
  local entry = counted_in(starts, raise, recount)
  local raised = copy_hold(hold)
  raised.amount_minor = target
  raised.authorized_minor = hold.authorized_minor + raise
  raised.counted = add_counted(hold.counted, entry)
  assert_hold(raised)
  return { hold = raised, counter_deltas = { entry }, balance_delta = hold_delta(hold.program, raise),
    released_minor = 0, captured_minor = 0, note = 'advice_raised' }
end

local function effect_of(m, hold, owner, counters)
  local starts = current_starts(counters, m.starts)
  if m.kind == 'reversal' then return apply_reversal(hold, owner, m) end
  if m.kind == 'clearing' then return apply_clearing(hold, owner, m, starts) end
  if m.kind == 'refund' then return apply_refund(owner.program, m, starts) end
  return apply_advice(hold, owner, m, starts)
end

-- Replies ----------------------------------------------------------------------------------------

local function reply(status, members)
  local all = { 'status', json_str(status) }
  for _, v in ipairs(members or {}) do all[#all + 1] = v end
  return json_object(all)
end

local function reply_applied(effect, event, stream_id)
  return reply('applied', {
    'note', json_str(effect.note), 'hold', enc_hold_or_null(effect.hold),
    'counter_deltas', enc_counted_list(effect.counter_deltas), 'balance_delta', enc_balance_delta(effect.balance_delta),
    'released_minor', json_int(effect.released_minor), 'captured_minor', json_int(effect.captured_minor),
    'event_id', json_str(event.event_id), 'stream_id', json_str(stream_id),
  })
end

local function reply_missing(missing)
  local fragments = {}
  for i, piece in ipairs(missing) do fragments[i] = json_str(piece) end
  return reply('missing', { 'missing', json_array(fragments) })
end

-- Writes -------------------------------------------------------------------------------------------

-- A restore reports the authorization's approval: kind authorization, its event id.
local function as_approval(m)
  local approval = {}
  for field, value in pairs(m) do approval[field] = value end
  approval.kind = 'authorization'
  return approval, 'authorization.approved'
end

local function event_of(m, owner, effect)
  local amount = m.amount_minor
  -- A reversal without an amount: the event says what it released.
  if amount == nil then amount = effect.released_minor end
  local message, type = m, event_types[m.kind]
  if m.restore then message, type = as_approval(m) end
  return prepare_event(message, {
    type = type, program = owner and owner.program or nil, amount_minor = amount, note = effect.note,
    counter_deltas = effect.counter_deltas, balance_delta = effect.balance_delta, hold = effect.hold,
  })
end

-- Computes everything that can fail, then writes: hold, counters, wallet, applied marker, event.
local function commit(m, record, owner, state, effect)
  local event = event_of(m, owner, effect)
  -- The decision under the same token, if any, keeps its marks (release_after_timeout.lua).
  local record_json = enc_record(nil, m.kind)
  if record.stored ~= nil then
    record_json = enc_stored_record(record.stored, m.kind, record.by, record.by_at_ms, record.undone)
  end
  local counters, balance = nil, nil
  if owner ~= nil and #effect.counter_deltas > 0 then counters = apply_counter_deltas(state.counters, effect.counter_deltas) end
  if owner ~= nil and owner.program == 'personal' then
    balance = apply_balance_delta(state.balance.value, effect.balance_delta)
  end
  if effect.hold ~= nil then write_hold(K.hold, effect.hold, m.closed_hold_ttl_s) end
  if counters ~= nil then write_counters(K.counters, counters) end
  if balance ~= nil then write_balance(K.balance, balance) end
  write_record(K.decision, record_json, m.decision_ttl_s)
  return reply_applied(effect, event, emit(K.outbox, event))
end

-- The owner: the hold, else the card. Only this message's card and cardholder may be the owner
-- (service-level rule, see README): their counters and wallet are the KEYS we were given.
local function owner_of(m, hold, card)
  local owner = hold or card
  if owner.card_token ~= m.card_token or owner.user_token ~= m.user_token then return nil end
  return { card_token = owner.card_token, user_token = owner.user_token, program = owner.program }
end

local function owner_mismatch(owner)
  return reply('owner_mismatch', { 'owner_card_token', json_str(owner.card_token),
    'owner_user_token', json_str(owner.user_token) })
end

local m = read_apply_request()
local record = read_record(K.decision, m.jit_token)
if record.applied ~= nil then return reply(m.restore and 'known' or 'duplicate') end
local hold = read_hold(K.hold, m.original_jit_token or m.jit_token)
-- A hold into which nothing was authorized is a reversal's mark (what it reversed beyond the
-- hold): the restore's advice holds the rest of the purchase (domain applyAdvice). Our decline
-- is no account of a purchase Marqeta approved: our answer never reached it, and its stand-in
-- approved (ADR 0010); the decline stays stored for replays. Unless it was stored over an
-- approval it undid (`undone`): that approval's event, on its way, has the restore's id.
local our_decline = record.stored ~= nil and record.stored.outcome == 'decline' and record.undone ~= true
if m.restore and ((record.stored ~= nil and not our_decline) or (hold ~= nil and hold.authorized_minor > 0)) then
  return reply('known')
end
local card = nil
if hold == nil then
  card = get_json(K.card)
  -- A restore never reports an approval for an unknown card (its event id is the approval's own,
  -- which settlement would then file as processed with no row): the caller loads the card.
  if card == nil or (m.restore and card.unknown == true) then return reply_missing({ 'card' }) end
  if card.unknown == true then return commit(m, record, nil, nil, nothing(nil, 'card_not_found')) end
  corrupt(card.card_token == m.card_token and valid_program(card.program), 'bad card state ', K.card)
end
local owner = owner_of(m, hold, card)
if owner == nil then return owner_mismatch(hold or card) end
local state = { counters = read_counters(K.counters), balance = read_balance(K.balance) }
local missing = {}
if state.counters == nil then missing[#missing + 1] = 'counters' end
if owner.program == 'personal' and not state.balance.loaded then missing[#missing + 1] = 'balance' end
if #missing > 0 then return reply_missing(missing) end
return commit(m, record, owner, state, effect_of(m, hold, owner, state.counters))
