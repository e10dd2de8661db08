-- release_after_timeout.lua: the service answered a decline of its own because its decision
-- deadline passed or the decision failed midway, but decide.lua may have run (or may still run:
-- ioredis resends a command after a reconnect). Makes Redis agree with the answer Marqeta got,
-- idempotently, by JIT token:
--   no stored decision  -> store the service's decline now (same kind and amount), so a late
--                          decide answers it as a replay and holds nothing;
--   approval            -> undo exactly what it did, store the service's decline, emit
--                          authorization.timeout_released;
--   balance answer      -> store the service's decline (no money moved, no event);
--   decline             -> nothing, unless it is decide.lua's own late decline (memo timeout)
--                          and the service answered system_error: that memo is stored over it.
-- The service's decline is TRANSACTION_NOT_PERMITTED with the request's memo, the domain's
-- 'timeout' or 'system_error': the answer the service gave. With a request_id (the service's
-- own release) a decision last answered to a newer request is `superseded` and stays (see
-- answered_to_newer). Without one (settlement: Marqeta declined, its final word) the stored
-- decision is released whoever made it.
-- lib.lua is prepended.
--
-- KEYS[1] decision(jit)   KEYS[2] hold(original_jit or jit)   KEYS[3] card counters
-- KEYS[4] user balance    KEYS[5] outbox
-- ARGV[1] JSON request (see src/requests.ts): the message, amount_minor, memo, decision_ttl_s,
--         closed_hold_ttl_s.

local K = { decision = KEYS[1], hold = KEYS[2], counters = KEYS[3], balance = KEYS[4], outbox = KEYS[5] }

local decision_kinds = { authorization = true, incremental = true, account_verification = true, balance_inquiry = true }
local release_memos = { timeout = true, system_error = true }

local function read_release_request()
  local req = read_request()
  local m = read_message(req)
  need(decision_kinds[m.kind] == true, 'kind')
  m.amount_minor = need_int(req, 'amount_minor')
  m.memo = req.memo
  need(release_memos[m.memo] == true, 'memo')
  return m
end

local function service_decline(m)
  return { jit_token = m.jit_token, kind = m.kind, amount_minor = m.amount_minor, outcome = 'decline',
    decline_reason = 'TRANSACTION_NOT_PERMITTED', memo = m.memo }
end

-- The service's decline stored under the token, answered to this request (the record's marks).
local function store_service_decline(m, record)
  local decline = service_decline(m)
  local record_json = enc_stored_record(decline, record.applied, m.request_id, m.now_ms, record.undone)
  write_record(K.decision, record_json, m.decision_ttl_s)
  return decline
end

local function reply(status, action, members)
  local all = { 'status', json_str(status), 'action', opt_str(action) }
  for _, v in ipairs(members or {}) do all[#all + 1] = v end
  return json_object(all)
end

-- An approved authorization is released whole (domain applyReversal without an amount: counts
-- given back) and, when nothing of it was captured, deleted: as if it had never been approved,
-- so a late incremental finds no original. An incremental is unwound newest entry first.
local function undo(m, hold)
  if m.kind == 'authorization' then
    local movement = release_from_hold(hold, hold.amount_minor, false)
    movement.delete = movement.hold.captured_minor == 0
    return movement
  end
  return release_from_hold(hold, math.min(m.amount_minor, hold.amount_minor), true)
end

local function undo_approval(m, record)
  local hold = nil
  if m.kind == 'authorization' or m.kind == 'incremental' then
    hold = read_hold(K.hold, m.original_jit_token or m.jit_token)
  end
  local movement = { hold = nil, counter_deltas = {}, balance_delta = no_balance_change }
  local counters, balance = nil, nil
  if hold ~= nil then
    if hold.card_token ~= m.card_token or hold.user_token ~= m.user_token then return reply('owner_mismatch') end
    counters = read_counters(K.counters)
    local wallet = read_balance(K.balance)
    if counters == nil then return reply('missing', nil, { 'missing', json_array({ json_str('counters') }) }) end
    if hold.program == 'personal' and not wallet.loaded then
      return reply('missing', nil, { 'missing', json_array({ json_str('balance') }) })
    end
    movement = undo(m, hold)
    counters = apply_counter_deltas(counters, movement.counter_deltas)
    if hold.program == 'personal' then balance = apply_balance_delta(wallet.value, movement.balance_delta) end
  end
  local snapshot = movement.hold
  if movement.delete then snapshot = nil end
  local event = prepare_event(m, {
    type = 'authorization.timeout_released', program = hold and hold.program or nil, memo = m.memo,
    amount_minor = m.amount_minor, decline_reason = 'TRANSACTION_NOT_PERMITTED',
    counter_deltas = movement.counter_deltas, balance_delta = movement.balance_delta, hold = snapshot,
  })
  local stored = service_decline(m)
  -- Marked undone: the approval's event is out, under the id a restore would use (lib.lua).
  local record_json = enc_stored_record(stored, record.applied, m.request_id, m.now_ms, true)
  if movement.delete then redis.call('DEL', K.hold) elseif snapshot ~= nil then write_hold(K.hold, snapshot, m.closed_hold_ttl_s) end
  if counters ~= nil then write_counters(K.counters, counters) end
  if balance ~= nil then write_balance(K.balance, balance) end
  write_record(K.decision, record_json, m.decision_ttl_s)
  local stream_id = emit(K.outbox, event)
  return reply('released', 'approval_undone', {
    'stored', enc_record(stored, nil), 'hold', enc_hold_or_null(snapshot),
    'counter_deltas', enc_counted_list(movement.counter_deltas),
    'balance_delta', enc_balance_delta(movement.balance_delta),
    'event_id', json_str(event.event_id), 'stream_id', json_str(stream_id),
  })
end

local m = read_release_request()
local record = read_record(K.decision, m.jit_token)
local stored = record.stored
if stored == nil then
  local decline = store_service_decline(m, record)
  return reply('released', 'declined_before_decision', { 'stored', enc_record(decline, nil) })
end
-- Another kind or amount under this token is not the decision the service timed out on.
if stored.kind ~= m.kind or stored.amount_minor ~= m.amount_minor then
  return reply('mismatch', nil, { 'stored', enc_record(stored, nil) })
end
-- The stored decision was last answered to another request received no earlier than ours (a
-- resend decided afresh after ours failed, or answered our approval by a replay in time):
-- Marqeta acts on that answer, so it stays; should Marqeta have declined after all,
-- settlement releases it from the webhook. Answered to an older request only, ours is the
-- latest answer, and it is undone. A record without `by` predates the marks: our own.
local function answered_to_newer(m, record)
  if m.request_id == nil or record.by == nil or record.by == m.request_id then return false end
  return record.by_at_ms >= m.now_ms
end
if answered_to_newer(m, record) then
  return reply('superseded', nil, { 'stored', enc_record(stored, nil) })
end
if stored.outcome == 'decline' then
  -- A decide that ran past its deadline (queued behind a command the service had given up on)
  -- stored memo timeout; the service answered system_error, which a replay must repeat. Only
  -- the memo changes: no money moved for a decline.
  if stored.memo == 'timeout' and m.memo ~= 'timeout' then
    local decline = store_service_decline(m, record)
    return reply('released', 'already_declined', { 'stored', enc_record(decline, nil) })
  end
  return reply('released', 'already_declined', { 'stored', enc_record(stored, nil) })
end
if stored.outcome == 'balance' then
  local decline = store_service_decline(m, record)
  return reply('released', 'balance_withdrawn', { 'stored', enc_record(decline, nil) })
end
return undo_approval(m, record)
