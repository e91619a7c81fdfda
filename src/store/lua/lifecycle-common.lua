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
  Moves `st` (as loaded, or a fresh table for a new registration) to `to`.
  ttlMs: > 0 expire the hash and audit after that long; 0 keep them until a later transition
  (a pending hold must never vanish); final states always expire after retentionMs.
  Returns the event id.
]]
local function transition(stateKey, auditKey, eventsKey, id, st, to, now, nowIso, actor, reason, ttlMs)
  local seq = (tonumber(st.seq) or 0) + 1
  local from = st.state
  local kind = 'transfer.' .. string.lower(to)
  local eventId = 'evt_' .. redis.sha1hex(stateKey .. '#' .. (st.decided or '') .. '#' .. seq)
  rcall('HSET', stateKey, 'state', to, 'seq', seq, 'updatedAt', now, 'reason', reason)
  -- the audit entry (AuditEntry in lifecycle-store.ts); a first transition comes from null
  local fromJson = cjson.null
  if from and from ~= '' then fromJson = from end
  rcall('RPUSH', auditKey, json_object({'seq', seq, 'at', nowIso, 'actor', actor, 'from', fromJson, 'to', to,
    'reason', reason, 'eventId', eventId}))
  -- the event's fields; the relay builds the webhook body from them (outbox-event.ts). '' is absent.
  rcall('XADD', eventsKey, '*', 'id', eventId, 'type', kind, 'transfer', id, 'createdAt', nowIso, 'seq', seq,
    'from', from or '', 'to', to, 'actor', actor, 'reason', reason, 'payer', st.payer or '', 'payee', st.payee or '',
    'amount', st.amount or '', 'currency', st.currency or '', 'action', st.action or '', 'risk', st.risk or '',
    'segment', st.segment or '', 'scam', st.scam or '', 'holdUntil', st.holdUntilIso or '')
  if ttlMs > 0 then
    rcall('PEXPIRE', stateKey, ttlMs)
    rcall('PEXPIRE', auditKey, ttlMs)
  else
    rcall('PERSIST', stateKey)
    rcall('PERSIST', auditKey)
  end
  return eventId
end
