--[[
  score-step-claim: the transfer's step of the split score (issue 15, docs/cluster-keys.md):
  claims the transfer id for idempotency, in the transfer's slot `{t:<id>}`. Sent with the
  payer, payee and device steps at once; it does not see their keys.

  KEYS[1] tx claim     string  '<event hash>|<claim ms>|pending' as written here; completed by
                               the record as '<event hash>|<claim ms>|<the state's integers>|<currency>'
                               (score-features.lua's form), or '<event hash>' (an earlier version)
  KEYS[2] tx decision  string  decision JSON (written by the app after scoring)

  ARGV[1] event hash   ARGV[2] the claim time in ms (the caller's clock)   ARGV[3] claim ttl ms

  Returns {0} claimed now (nothing was there), else {1, claim as stored, decision or ''}
  (nothing changed; a repeat of this step for its own claim answers {1, its pending claim, ''}).
]]

local claim = redis.call('GET', KEYS[1])
if claim then return {1, claim, redis.call('GET', KEYS[2]) or ''} end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2] .. '|pending', 'PX', ARGV[3])
return {0}
