--[[
  register-transfer: a `warn` or `cool_off` decision starts a lifecycle in WARNED. Runs in the
  scoring path's batched decision write (FeatureStore), which the score awaits with its batch.

  One Redis:
  KEYS[1] lifecycle hash   {t:<id>}:s
  KEYS[2] audit list       {t:<id>}:audit
  KEYS[3] awaiting zset    transfer id -> warning deadline (ms), swept into ABANDONED
  KEYS[4] outbox stream    lifecycle events
  A cluster (lifecycle-common.lua): KEYS[1] lifecycle hash, KEYS[2] audit list, KEYS[3] effects hash.

  ARGV[1] transfer id   ARGV[2] decision time ms   ARGV[3] decision time ISO
  ARGV[4] warning deadline ms   ARGV[5] ttl ms of the WARNED hash (deadline + retention)
  ARGV[6] audit reason
  ARGV[7..] field, value pairs of the hash (payer, payee, amount, currency, action, risk,
            model, segment, scam, rules, lang, features, reports, holdMs)

  Returns 1 when registered, 0 when the transfer already has a lifecycle (nothing changes).
  A cluster: {1, 'WARNED', event id, {effects}} | {0, '', '', {effects not applied yet}}.
]]
local K = lifecycle_keys({'state', 'audit', 'awaiting', 'events'})
if rcall('EXISTS', K.state) == 1 then
  if not K.split then return 0 end
  return finish(K, {0}, nil, false)
end
local st = {}
for i = 7, #ARGV, 2 do st[ARGV[i]] = ARGV[i + 1] end
st.decided = ARGV[2]
rcall('HSET', K.state, 'decided', ARGV[2], 'deadline', ARGV[4], unpack(ARGV, 7))
local fx = effects(ARGV[1], st)
fx.aw = 'add'
fx.awAt = ARGV[4]
local eventId = transition(K, ARGV[1], st, 'WARNED', ARGV[2], ARGV[3], 'engine', ARGV[6], tonumber(ARGV[5]), fx)
if not K.split then
  apply_here(K, fx)
  return 1
end
return finish(K, {1, 'WARNED', eventId}, fx, true)
