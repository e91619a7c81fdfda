--[[
  expire-hold: a cooling-off hold has run its time (its BullMQ timer fired, or the worker's
  overdue sweep found it). The payee is checked again:

  COOLING_OFF -> HELD_FOR_REVIEW  the payee was reported since the decision (checked here,
                                  atomically), or ARGV[5] names a reason (the active rule set,
                                  re-evaluated by the caller on the stored features, now blocks)
  COOLING_OFF -> RELEASED         otherwise
  Any other state: the hold already ended (cancelled, escalated, released by an earlier
  run): nothing changes, the indexes are cleaned.

  KEYS[1] lifecycle hash   KEYS[2] audit list   KEYS[3] outbox stream
  KEYS[4] due zset         KEYS[5] payee's holds   KEYS[6] payee reports

  ARGV[1] transfer id   ARGV[2] now ms   ARGV[3] now ISO   ARGV[4] actor
  ARGV[5] hold reason from the rule re-check, or ''   ARGV[6] retention ms

  Returns {1, new state, event id} | {0, current state} | {-1, ''} | {-3, 'COOLING_OFF', hold end ms} (too early)
]]
local st = load(KEYS[1])
if not st then
  rcall('ZREM', KEYS[4], ARGV[1])
  return {-1, ''}
end
if st.state ~= 'COOLING_OFF' then
  rcall('ZREM', KEYS[4], ARGV[1])
  rcall('SREM', KEYS[5], ARGV[1])
  return {0, st.state}
end
local holdUntil = tonumber(st.holdUntil) or 0
if tonumber(ARGV[2]) < holdUntil then return {-3, st.state, holdUntil} end

local reportsNow = tonumber(rcall('HGET', KEYS[6], 'count')) or 0
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
rcall('ZREM', KEYS[4], ARGV[1])
rcall('SREM', KEYS[5], ARGV[1])
local eventId = transition(KEYS[1], KEYS[2], KEYS[3], ARGV[1], st, to, ARGV[2], ARGV[3], ARGV[4], reason, ttl)
return {1, to, eventId}
