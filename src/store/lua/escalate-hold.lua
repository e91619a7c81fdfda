--[[
  escalate-hold: a new scam report names the payee of a transfer in its cooling-off hold.

  COOLING_OFF -> HELD_FOR_REVIEW at once (not at the end of the hold).
  Any other state: nothing changes; the transfer is dropped from the payee's holds index.

  One Redis:
  KEYS[1] lifecycle hash   KEYS[2] audit list   KEYS[3] outbox stream
  KEYS[4] due zset         KEYS[5] payee's holds
  A cluster (lifecycle-common.lua): KEYS[1] lifecycle hash, KEYS[2] audit list, KEYS[3] effects hash.

  ARGV[1] transfer id   ARGV[2] now ms   ARGV[3] now ISO   ARGV[4] actor   ARGV[5] reason
  ARGV[6] the payee whose holds index named the transfer (a cluster: dropped from it when the
          transfer has no lifecycle)

  Returns {1, 'HELD_FOR_REVIEW', event id} | {0, current state} | {-1, ''}; a cluster adds {effects}
]]
local K = lifecycle_keys({'state', 'audit', 'events', 'due', 'holds'})
local st = load(K.state)
local clean = {t = ARGV[1], payer = '', payee = ARGV[6] or '', holds = 'rem'}
if not st then return finish(K, {-1, ''}, clean, false) end
if st.state ~= 'COOLING_OFF' then
  clean.payee = st.payee or clean.payee
  return finish(K, {0, st.state}, clean, false)
end
local fx = effects(ARGV[1], st)
fx.due = 'rem'
fx.holds = 'rem'
local eventId = transition(K, ARGV[1], st, 'HELD_FOR_REVIEW', ARGV[2], ARGV[3], ARGV[4], ARGV[5], 0, fx)
return finish(K, {1, 'HELD_FOR_REVIEW', eventId}, fx, true)
