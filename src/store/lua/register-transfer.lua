--[[
  register-transfer: a `warn` or `cool_off` decision starts a lifecycle in WARNED. Runs in the
  scoring path's batched decision write (FeatureStore), which the score awaits with its batch.

  KEYS[1] lifecycle hash   {t:<id>}:s
  KEYS[2] audit list       {t:<id>}:audit
  KEYS[3] awaiting zset    transfer id -> warning deadline (ms), swept into ABANDONED
  KEYS[4] outbox stream    lifecycle events

  ARGV[1] transfer id   ARGV[2] decision time ms   ARGV[3] decision time ISO
  ARGV[4] warning deadline ms   ARGV[5] ttl ms of the WARNED hash (deadline + retention)
  ARGV[6] audit reason
  ARGV[7..] field, value pairs of the hash (payer, payee, amount, currency, action, risk,
            model, segment, scam, rules, lang, features, reports, holdMs)

  Returns 1 when registered, 0 when the transfer already has a lifecycle (nothing changes).
]]
if rcall('EXISTS', KEYS[1]) == 1 then return 0 end
local st = {}
for i = 7, #ARGV, 2 do st[ARGV[i]] = ARGV[i + 1] end
st.decided = ARGV[2]
rcall('HSET', KEYS[1], 'decided', ARGV[2], 'deadline', ARGV[4], unpack(ARGV, 7))
transition(KEYS[1], KEYS[2], KEYS[4], ARGV[1], st, 'WARNED', ARGV[2], ARGV[3], 'engine', ARGV[6], tonumber(ARGV[5]))
rcall('ZADD', KEYS[3], ARGV[4], ARGV[1])
return 1
