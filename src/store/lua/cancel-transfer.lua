--[[
  cancel-transfer: the payer cancels, at any time before release.

  WARNED -> ABANDONED (the payer was dissuaded by the warning)
  COOLING_OFF | HELD_FOR_REVIEW -> CANCELLED
  CANCELLED | ABANDONED: a repeat, nothing changes.

  One Redis:
  KEYS[1] lifecycle hash   KEYS[2] audit list   KEYS[3] outbox stream
  KEYS[4] awaiting zset    KEYS[5] due zset     KEYS[6] payee's holds
  KEYS[7] payer guardian   hash: both ends are unpaid, so what the transfer added to a minor's
                           daily allowance is given back (guardian-refund.lua, prepended)
  A cluster (lifecycle-common.lua): KEYS[1] lifecycle hash, KEYS[2] audit list, KEYS[3] effects
  hash; the refund is an effect, applied in the payer's slot.

  ARGV[1] transfer id   ARGV[2] now ms   ARGV[3] now ISO   ARGV[4] actor   ARGV[5] payer's note or ''
  ARGV[6] retention ms

  Returns {1, new state, event id} | {0, current state} | {-1, ''} | {-2, current state};
  a cluster adds {effects}
]]
local K = lifecycle_keys({'state', 'audit', 'events', 'awaiting', 'due', 'holds', 'guardian'})
local st = load(K.state)
if not st then return finish(K, {-1, ''}, nil, false) end
if st.state == 'CANCELLED' or st.state == 'ABANDONED' then return finish(K, {0, st.state}, nil, false) end
local note = ARGV[5] ~= '' and (': ' .. ARGV[5]) or ''
local to, reason
if st.state == 'WARNED' then
  to = 'ABANDONED'
  reason = 'cancelled by the payer after the warning' .. note
elseif st.state == 'COOLING_OFF' or st.state == 'HELD_FOR_REVIEW' then
  to = 'CANCELLED'
  reason = 'cancelled by the payer during ' .. (st.state == 'COOLING_OFF' and 'the cooling-off hold' or 'the review') .. note
else
  return finish(K, {-2, st.state}, nil, false)
end
local fx = effects(ARGV[1], st)
fx.aw = 'rem'
fx.due = 'rem'
fx.holds = 'rem'
fx.refund = 1
local eventId = transition(K, ARGV[1], st, to, ARGV[2], ARGV[3], ARGV[4], reason, tonumber(ARGV[6]), fx)
return finish(K, {1, to, eventId}, fx, true)
