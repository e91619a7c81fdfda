--[[
  lifecycle-intent: on a cluster, a transition is announced in `{lifecycle}:pending` (transfer
  id -> ms) before it runs and removed once its effects are applied (lifecycle-common.lua), so
  the worker's sweep re-applies the effects of a transition whose caller died between them.

  KEYS[1] pending zset

  ARGV[1] 'begin' | 'end'   ARGV[2] transfer id   ARGV[3] begin: now ms; end: the ms `begin` answered

  begin: writes the entry at now, or just after the entry already there (a transition of the
         same transfer in flight), so that every begin answers its own score; returns it.
  end:   removes the entry only if it still holds that score (a later begin of the same
         transfer keeps its own); returns 1 removed, 0 not.
]]
if ARGV[1] == 'begin' then
  local at = tonumber(ARGV[3])
  local cur = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[2]))
  if cur and cur >= at then at = cur + 1 end
  redis.call('ZADD', KEYS[1], at, ARGV[2])
  return at
end
if tonumber(redis.call('ZSCORE', KEYS[1], ARGV[2])) == tonumber(ARGV[3]) then
  redis.call('ZREM', KEYS[1], ARGV[2])
  return 1
end
return 0
