--[[
  lifecycle-common: functions shared by every transfer lifecycle script (keys.ts prepends this
  file to each of them). Not a script by itself.

  A transfer's lifecycle hash (`{t:<id>}:s`) holds: state, seq (number of transitions so far),
  payer, payee, amount, currency, action, risk, model, segment, scam, rules, lang, features
  (JSON vector), reports (payee report count at the decision), decided (ms), deadline (ms, the
  warning's expiry), holdMs, holdUntil (ms), holdUntilIso, confirmedAt, reviewedAt, updatedAt,
  reason.

  transition() is the only writer of a state change. In the same atomic step it appends the
  audit entry (time, actor, reason) to `{t:<id>}:audit` and the announcing event to the
  lifecycle outbox stream, so every transition is announced, and under one event id: the
  worker's relay delivers outbox entries (at least once; a relay repeated after a crash sends
  the same event id again, and a retry job's id is the event id).

  An outbox entry holds the event's fields, not its body: id, type, transfer, createdAt, seq,
  from, to, actor, reason, payer, payee, amount, currency, action, risk, segment, scam,
  holdUntil ('' when absent). The relay builds the webhook body (src/cooling/outbox-event.ts);
  entries written before that carry the finished body in a `body` field instead.

  Event ids are 'evt_' .. sha1(state key, decision time, seq): unique per transition, the
  same on every retry of the relay, and different when a transfer id is reused after its
  lifecycle expired.

  Two forms of every transition script (issue 15, docs/cluster-keys.md):
  - one Redis (`inline`): called with the script's full KEYS (the transfer's, the `{lifecycle}`
    indexes and outbox, the payee's or payer's keys); the transition and its effects are one
    atomic step, as they have always been;
  - a Redis Cluster (`split`): called with 3 KEYS, all in the transfer's slot: lifecycle hash,
    audit list, effects hash (`{t:<id>}:fx`). The transition changes the state and the audit,
    and records the effects it implies (index ZADD / ZREM, the payee's holds, the guardian
    refund, the outbox entry) as one JSON entry per transition (field = seq); it returns every
    recorded entry not applied yet, which the caller applies per slot (lifecycle-effects.lua,
    SADD / SREM, guardian-refund.lua) and then deletes (HDEL). Reply:
    {code, state or '', event id / until ms or '', {effects JSON, ...}}.
  An effects entry: {seq, t (transfer), payer, payee, aw / due / holds = 'add' | 'rem',
  awAt / dueAt (ms), refund = 1, event = {field, value, ...} of the outbox entry}.
]]
local rcall = redis.call

local LOADED = {'state', 'seq', 'payer', 'payee', 'amount', 'currency', 'action', 'risk',
  'segment', 'scam', 'decided', 'holdUntil', 'holdUntilIso', 'confirmedAt', 'reviewedAt', 'reports'}

-- the lifecycle hash as a table, or nil when the transfer has none
local function load(stateKey)
  local v = rcall('HMGET', stateKey, unpack(LOADED))
  if not v[1] then return nil end
  local st = {}
  for i, f in ipairs(LOADED) do st[f] = v[i] or nil end
  return st
end

--[[
  A JSON object with its keys in the order given: kv is {key, value, key, value, ...}, each key
  and value encoded by cjson (cjson.null for null). The one way these scripts write a JSON
  object: cjson.encode of a table would put the keys in Lua's hash order, not the order
  readers have always been given.
]]
local function json_object(kv)
  local parts = {}
  for i = 1, #kv, 2 do parts[#parts + 1] = cjson.encode(kv[i]) .. ':' .. cjson.encode(kv[i + 1]) end
  return '{' .. table.concat(parts, ',') .. '}'
end


--[[
  The keys of this call by role. One Redis: KEYS in the order of `names` (the script's own
  order, as its header lists them). A cluster: KEYS = lifecycle hash, audit list, effects hash.
]]
local function lifecycle_keys(names)
  if #KEYS == 3 then return {split = true, state = KEYS[1], audit = KEYS[2], fx = KEYS[3]} end
  local k = {split = false}
  for i, n in ipairs(names) do k[n] = KEYS[i] end
  return k
end

--[[
  Moves `st` (as loaded, or a fresh table for a new registration) to `to`.
  ttlMs: > 0 expire the hash and audit after that long; 0 keep them until a later transition
  (a pending hold must never vanish); final states always expire after retentionMs.
  fx: the effects of this transition (see above); the outbox entry is appended here (one
  Redis) or recorded in fx.event (a cluster).
  Returns the event id.
]]
local function transition(K, id, st, to, now, nowIso, actor, reason, ttlMs, fx)
  local seq = (tonumber(st.seq) or 0) + 1
  local from = st.state
  local kind = 'transfer.' .. string.lower(to)
  local eventId = 'evt_' .. redis.sha1hex(K.state .. '#' .. (st.decided or '') .. '#' .. seq)
  rcall('HSET', K.state, 'state', to, 'seq', seq, 'updatedAt', now, 'reason', reason)
  -- the audit entry (AuditEntry in lifecycle-store.ts); a first transition comes from null
  local fromJson = cjson.null
  if from and from ~= '' then fromJson = from end
  rcall('RPUSH', K.audit, json_object({'seq', seq, 'at', nowIso, 'actor', actor, 'from', fromJson, 'to', to,
    'reason', reason, 'eventId', eventId}))
  -- the event's fields; the relay builds the webhook body from them (outbox-event.ts). '' is absent.
  local event = {'id', eventId, 'type', kind, 'transfer', id, 'createdAt', nowIso, 'seq', tostring(seq),
    'from', from or '', 'to', to, 'actor', actor, 'reason', reason, 'payer', st.payer or '', 'payee', st.payee or '',
    'amount', st.amount or '', 'currency', st.currency or '', 'action', st.action or '', 'risk', st.risk or '',
    'segment', st.segment or '', 'scam', st.scam or '', 'holdUntil', st.holdUntilIso or ''}
  if K.split then
    fx.seq = seq
    fx.event = event
  else
    rcall('XADD', K.events, '*', unpack(event))
  end
  if ttlMs > 0 then
    rcall('PEXPIRE', K.state, ttlMs)
    rcall('PEXPIRE', K.audit, ttlMs)
  else
    rcall('PERSIST', K.state)
    rcall('PERSIST', K.audit)
  end
  return eventId
end

-- a fresh effects entry of transfer `id` (payer and payee from its hash)
local function effects(id, st)
  return {t = id, payer = st.payer or '', payee = st.payee or ''}
end

--[[
  One Redis: applies `fx` here, in the same atomic step (the outbox entry was appended by
  transition()). K names the keys the script was given; refund_guardian_spend exists in the
  scripts that prepend guardian-refund.lua, the only ones whose effects refund.
]]
local function apply_here(K, fx)
  local id = fx.t
  if fx.aw == 'add' then rcall('ZADD', K.awaiting, fx.awAt, id) elseif fx.aw == 'rem' then rcall('ZREM', K.awaiting, id) end
  if fx.due == 'add' then rcall('ZADD', K.due, fx.dueAt, id) elseif fx.due == 'rem' then rcall('ZREM', K.due, id) end
  if fx.holds == 'add' then rcall('SADD', K.holds, id) elseif fx.holds == 'rem' then rcall('SREM', K.holds, id) end
  if fx.refund then refund_guardian_spend(K.guardian, id) end
end

--[[
  Ends a transition script. One Redis: applies the effects and returns `reply`. A cluster:
  records `fx` when it is a transition's (recorded = true; it has a seq) in the effects hash,
  which lives as long as the lifecycle hash, and returns reply as {code, a, b, {effects...}}:
  every recorded entry not applied yet, in seq order, then `fx` itself when it is only a
  clean-up of indexes (not recorded: a repeat of it changes nothing, and the index readers
  drop members whose state does not match).
]]
local function finish(K, reply, fx, recorded)
  if not K.split then
    if fx then apply_here(K, fx) end
    return reply
  end
  if fx and recorded then
    rcall('HSET', K.fx, fx.seq, cjson.encode(fx))
    local ttl = rcall('PTTL', K.state)
    if ttl > 0 then rcall('PEXPIRE', K.fx, ttl) else rcall('PERSIST', K.fx) end
  end
  local pending = rcall('HGETALL', K.fx)
  local bySeq = {}
  for i = 1, #pending, 2 do bySeq[#bySeq + 1] = {tonumber(pending[i]), pending[i + 1]} end
  table.sort(bySeq, function(a, b) return a[1] < b[1] end)
  local out = {}
  for _, e in ipairs(bySeq) do out[#out + 1] = e[2] end
  if fx and not recorded then out[#out + 1] = cjson.encode(fx) end
  return {reply[1], reply[2] or '', reply[3] or '', out}
end
