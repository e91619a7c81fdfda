--[[
  cancel-transfer: the payer cancels, at any time before release.

  WARNED -> ABANDONED (the payer was dissuaded by the warning)
  COOLING_OFF | HELD_FOR_REVIEW -> CANCELLED
  CANCELLED | ABANDONED: a repeat, nothing changes.

  KEYS[1] lifecycle hash   KEYS[2] audit list   KEYS[3] outbox stream
  KEYS[4] awaiting zset    KEYS[5] due zset     KEYS[6] payee's holds
  KEYS[7] payer guardian   hash: both ends are unpaid, so what the transfer added to a minor's
                           daily allowance is given back (guardian-refund.lua, prepended)

  ARGV[1] transfer id   ARGV[2] now ms   ARGV[3] now ISO   ARGV[4] actor   ARGV[5] payer's note or ''
  ARGV[6] retention ms

  Returns {1, new state, event id} | {0, current state} | {-1, ''} | {-2, current state}
]]
local st = load(KEYS[1])
if not st then return {-1, ''} end
if st.state == 'CANCELLED' or st.state == 'ABANDONED' then return {0, st.state} end
local note = ARGV[5] ~= '' and (': ' .. ARGV[5]) or ''
local to, reason
if st.state == 'WARNED' then
  to = 'ABANDONED'
  reason = 'cancelled by the payer after the warning' .. note
elseif st.state == 'COOLING_OFF' or st.state == 'HELD_FOR_REVIEW' then
  to = 'CANCELLED'
  reason = 'cancelled by the payer during ' .. (st.state == 'COOLING_OFF' and 'the cooling-off hold' or 'the review') .. note
else
  return {-2, st.state}
end
rcall('ZREM', KEYS[4], ARGV[1])
rcall('ZREM', KEYS[5], ARGV[1])
rcall('SREM', KEYS[6], ARGV[1])
refund_guardian_spend(KEYS[7], ARGV[1])
local eventId = transition(KEYS[1], KEYS[2], KEYS[3], ARGV[1], st, to, ARGV[2], ARGV[3], ARGV[4], reason, tonumber(ARGV[6]))
return {1, to, eventId}
