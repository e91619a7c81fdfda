--[[
  expire-hold: a cooling-off hold has run its time (its BullMQ timer fired, or the worker's
  overdue sweep found it). The payee is checked again:

  COOLING_OFF -> HELD_FOR_REVIEW  the payee was reported since the decision, or ARGV[5] names
                                  a reason (the active rule set, re-evaluated by the caller on
                                  the stored features, now blocks)
  COOLING_OFF -> RELEASED         otherwise
  Any other state: the hold already ended (cancelled, escalated, released by an earlier
  run): nothing changes, the indexes are cleaned.

  One Redis:
  KEYS[1] lifecycle hash   KEYS[2] audit list   KEYS[3] outbox stream
  KEYS[4] due zset         KEYS[5] payee's holds   KEYS[6] payee reports (read here, atomically)
  A cluster (lifecycle-common.lua): KEYS[1] lifecycle hash, KEYS[2] audit list, KEYS[3] effects hash.

  ARGV[1] transfer id   ARGV[2] now ms   ARGV[3] now ISO   ARGV[4] actor
  ARGV[5] hold reason from the rule re-check, or ''   ARGV[6] retention ms
  ARGV[7] a cluster: the payee's report count, read just before in the payee's slot

  Returns {1, new state, event id} | {0, current state} | {-1, ''} | {-3, 'COOLING_OFF', hold end ms} (too early);
  a cluster adds {effects}
]]
local K = lifecycle_keys({'state', 'audit', 'events', 'due', 'holds', 'reports'})
local st = load(K.state)
local clean = {t = ARGV[1], payer = '', payee = '', due = 'rem'}
if not st then return finish(K, {-1, ''}, clean, false) end
if st.state ~= 'COOLING_OFF' then
  clean.payee = st.payee or ''
  clean.holds = 'rem'
  return finish(K, {0, st.state}, clean, false)
end
local holdUntil = tonumber(st.holdUntil) or 0
if tonumber(ARGV[2]) < holdUntil then return finish(K, {-3, st.state, holdUntil}, nil, false) end

local reportsNow
if K.split then reportsNow = tonumber(ARGV[7]) or 0 else reportsNow = tonumber(rcall('HGET', K.reports, 'count')) or 0 end
local reportsThen = tonumber(st.reports) or 0
local to, reason, ttl
if reportsNow > reportsThen then
  to = 'HELD_FOR_REVIEW'
  reason = 'cooling-off ended; the payee was reported as a scam since the decision (' ..
    reportsNow .. ' reports, ' .. reportsThen .. ' at the decision)'
  ttl = 0
elseif ARGV[5] ~= '' then
  to = 'HELD_FOR_REVIEW'
  reason = 'cooling-off ended; ' .. ARGV[5]
  ttl = 0
else
  to = 'RELEASED'
  reason = 'cooling-off ended; payee re-checked: no new scam report and the active rule set does not block it'
  ttl = tonumber(ARGV[6])
end
local fx = effects(ARGV[1], st)
fx.due = 'rem'
fx.holds = 'rem'
local eventId = transition(K, ARGV[1], st, to, ARGV[2], ARGV[3], ARGV[4], reason, ttl, fx)
return finish(K, {1, to, eventId}, fx, true)
