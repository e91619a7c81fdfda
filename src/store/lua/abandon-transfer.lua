--[[
  abandon-transfer: a warning the payer never answered expires (the worker's sweep of the
  awaiting zset).

  WARNED (deadline passed) -> ABANDONED
  Any other state: nothing changes; the transfer is dropped from the awaiting zset.

  One Redis:
  KEYS[1] lifecycle hash   KEYS[2] audit list   KEYS[3] outbox stream   KEYS[4] awaiting zset
  KEYS[5] payer guardian   hash: the transfer ends unpaid, so what it added to a minor's daily
                           allowance is given back (guardian-refund.lua, prepended)
  A cluster (lifecycle-common.lua): KEYS[1] lifecycle hash, KEYS[2] audit list, KEYS[3] effects
  hash; the refund is an effect, applied in the payer's slot.

  ARGV[1] transfer id   ARGV[2] now ms   ARGV[3] now ISO   ARGV[4] actor   ARGV[5] retention ms

  Returns {1, 'ABANDONED', event id} | {0, current state} | {-1, ''} | {-3, 'WARNED', deadline ms} (too early);
  a cluster adds {effects}
]]
local K = lifecycle_keys({'state', 'audit', 'events', 'awaiting', 'guardian'})
local st = load(K.state)
local clean = {t = ARGV[1], payer = '', payee = '', aw = 'rem'}
if not st then return finish(K, {-1, ''}, clean, false) end
if st.state ~= 'WARNED' then return finish(K, {0, st.state}, clean, false) end
local deadline = tonumber(rcall('HGET', K.state, 'deadline')) or 0
if tonumber(ARGV[2]) < deadline then return finish(K, {-3, st.state, deadline}, nil, false) end
local fx = effects(ARGV[1], st)
fx.aw = 'rem'
fx.refund = 1
local waited = math.floor((deadline - tonumber(st.decided or deadline)) / 1000)
local eventId = transition(K, ARGV[1], st, 'ABANDONED', ARGV[2], ARGV[3], ARGV[4],
  'no answer from the payer within ' .. waited .. ' s of the warning', tonumber(ARGV[5]), fx)
return finish(K, {1, 'ABANDONED', eventId}, fx, true)
