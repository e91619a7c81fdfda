--[[
  escalate-hold: a new scam report names the payee of a transfer in its cooling-off hold.

  COOLING_OFF -> HELD_FOR_REVIEW at once (not at the end of the hold).
  Any other state: nothing changes; the transfer is dropped from the payee's holds index.

  KEYS[1] lifecycle hash   KEYS[2] audit list   KEYS[3] outbox stream
  KEYS[4] due zset         KEYS[5] payee's holds

  ARGV[1] transfer id   ARGV[2] now ms   ARGV[3] now ISO   ARGV[4] actor   ARGV[5] reason

  Returns {1, 'HELD_FOR_REVIEW', event id} | {0, current state} | {-1, ''}
]]
local st = load(KEYS[1])
if not st then
  rcall('SREM', KEYS[5], ARGV[1])
  return {-1, ''}
end
if st.state ~= 'COOLING_OFF' then
  rcall('SREM', KEYS[5], ARGV[1])
  return {0, st.state}
end
rcall('ZREM', KEYS[4], ARGV[1])
rcall('SREM', KEYS[5], ARGV[1])
local eventId = transition(KEYS[1], KEYS[2], KEYS[3], ARGV[1], st, 'HELD_FOR_REVIEW', ARGV[2], ARGV[3], ARGV[4], ARGV[5], 0)
return {1, 'HELD_FOR_REVIEW', eventId}
