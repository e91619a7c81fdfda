--[[
  abandon-transfer: a warning the payer never answered expires (the worker's sweep of the
  awaiting zset).

  WARNED (deadline passed) -> ABANDONED
  Any other state: nothing changes; the transfer is dropped from the awaiting zset.

  KEYS[1] lifecycle hash   KEYS[2] audit list   KEYS[3] outbox stream   KEYS[4] awaiting zset
  KEYS[5] payer guardian   hash: the transfer ends unpaid, so what it added to a minor's daily
                           allowance is given back (guardian-refund.lua, prepended)

  ARGV[1] transfer id   ARGV[2] now ms   ARGV[3] now ISO   ARGV[4] actor   ARGV[5] retention ms

  Returns {1, 'ABANDONED', event id} | {0, current state} | {-1, ''} | {-3, 'WARNED', deadline ms} (too early)
]]
local st = load(KEYS[1])
if not st then
  rcall('ZREM', KEYS[4], ARGV[1])
  return {-1, ''}
end
if st.state ~= 'WARNED' then
  rcall('ZREM', KEYS[4], ARGV[1])
  return {0, st.state}
end
local deadline = tonumber(rcall('HGET', KEYS[1], 'deadline')) or 0
if tonumber(ARGV[2]) < deadline then return {-3, st.state, deadline} end
rcall('ZREM', KEYS[4], ARGV[1])
refund_guardian_spend(KEYS[5], ARGV[1])
local waited = math.floor((deadline - tonumber(st.decided or deadline)) / 1000)
local eventId = transition(KEYS[1], KEYS[2], KEYS[3], ARGV[1], st, 'ABANDONED', ARGV[2], ARGV[3], ARGV[4],
  'no answer from the payer within ' .. waited .. ' s of the warning', tonumber(ARGV[5]))
return {1, 'ABANDONED', eventId}
