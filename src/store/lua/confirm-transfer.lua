--[[
  confirm-transfer: the payer goes ahead after the warning.

  WARNED -> COOLING_OFF   when the decision was cool_off, or warn with risk >= HOLD_RISK_AT
  WARNED -> RELEASED      a lower-risk warn: released at once
  WARNED -> HELD_FOR_REVIEW  the payee was reported as a scam since the decision
  A transfer confirmed before (whatever its state now) is a repeat: nothing changes.

  One Redis:
  KEYS[1] lifecycle hash   KEYS[2] audit list   KEYS[3] outbox stream
  KEYS[4] awaiting zset    KEYS[5] due zset (transfer id -> hold end ms)
  KEYS[6] payee's holds    set of the payee's transfers in COOLING_OFF
  KEYS[7] payee reports    hash count, reporters, last (case library)
  A cluster (lifecycle-common.lua): KEYS[1] lifecycle hash, KEYS[2] audit list, KEYS[3] effects hash.

  ARGV[1] transfer id   ARGV[2] now ms   ARGV[3] now ISO   ARGV[4] actor   ARGV[5] payer's note or ''
  ARGV[6] HOLD_RISK_AT  ARGV[7] hold end ms   ARGV[8] hold end ISO   ARGV[9] retention ms
  ARGV[10] a cluster: the payee's report count, read just before in the payee's slot (one
           Redis reads it here, from KEYS[7], in the same atomic step)

  Returns {1, new state, event id} | {0, current state} (repeat) | {-1, ''} (no lifecycle)
        | {-2, current state} (not WARNED and never confirmed); a cluster adds {effects}
]]
local K = lifecycle_keys({'state', 'audit', 'events', 'awaiting', 'due', 'holds', 'reports'})
local st = load(K.state)
if not st then return finish(K, {-1, ''}, nil, false) end
if st.confirmedAt then return finish(K, {0, st.state}, nil, false) end
if st.state ~= 'WARNED' then return finish(K, {-2, st.state}, nil, false) end

local now = ARGV[2]
local note = ARGV[5] ~= '' and ('; payer says: ' .. ARGV[5]) or ''
local fx = effects(ARGV[1], st)
fx.aw = 'rem'
rcall('HSET', K.state, 'confirmedAt', now)
local reportsNow
if K.split then reportsNow = tonumber(ARGV[10]) or 0 else reportsNow = tonumber(rcall('HGET', K.reports, 'count')) or 0 end
local reportsThen = tonumber(st.reports) or 0
local risk = tonumber(st.risk) or 0
local to, reason, ttl
if reportsNow > reportsThen then
  to = 'HELD_FOR_REVIEW'
  reason = 'confirmed by the payer, but the payee was reported as a scam since the decision (' ..
    reportsNow .. ' reports, ' .. reportsThen .. ' at the decision)' .. note
  ttl = 0
elseif st.action == 'cool_off' or risk >= tonumber(ARGV[6]) then
  to = 'COOLING_OFF'
  st.holdUntilIso = ARGV[8]
  rcall('HSET', K.state, 'holdUntil', ARGV[7], 'holdUntilIso', ARGV[8])
  fx.due = 'add'
  fx.dueAt = ARGV[7]
  fx.holds = 'add'
  reason = 'confirmed by the payer; ' .. (st.action == 'cool_off' and 'cool_off decision' or
    ('risk ' .. st.risk .. ' at or above the hold level ' .. ARGV[6])) .. ': held until ' .. ARGV[8] .. note
  ttl = 0
else
  to = 'RELEASED'
  reason = 'confirmed by the payer; risk ' .. st.risk .. ' is below the hold level ' .. ARGV[6] .. ': released at once' .. note
  ttl = tonumber(ARGV[9])
end
local eventId = transition(K, ARGV[1], st, to, now, ARGV[3], ARGV[4], reason, ttl, fx)
return finish(K, {1, to, eventId}, fx, true)
