--[[
  lifecycle-effects: a cluster applies the `{lifecycle}` part of a transition's effects
  (lifecycle-common.lua) after the transition, in the `{lifecycle}` slot. Idempotent: the
  index changes are ZADD / ZREM of the transition's own values, and the outbox entry is
  appended once per event id (a marker with a TTL), so a repeat after a crash (the worker's
  sweep of `{lifecycle}:pending`) appends nothing twice.

  KEYS[1] awaiting zset   KEYS[2] due zset   KEYS[3] outbox stream
  KEYS[4] marker of the event `{lifecycle}:evt:<event id>` (any `{lifecycle}` key when ARGV has no event)

  ARGV[1] transfer id   ARGV[2] awaiting: 'add' | 'rem' | ''   ARGV[3] awaiting ms
  ARGV[4] due: 'add' | 'rem' | ''   ARGV[5] due ms   ARGV[6] TTL of the marker, ms
  ARGV[7..] field, value pairs of the outbox entry (none: no entry)

  Returns 1 when it appended the outbox entry now, 0 otherwise.
]]
local id = ARGV[1]
if ARGV[2] == 'add' then redis.call('ZADD', KEYS[1], ARGV[3], id) elseif ARGV[2] == 'rem' then redis.call('ZREM', KEYS[1], id) end
if ARGV[4] == 'add' then redis.call('ZADD', KEYS[2], ARGV[5], id) elseif ARGV[4] == 'rem' then redis.call('ZREM', KEYS[2], id) end
if #ARGV < 7 then return 0 end
if not redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[6]) then return 0 end
redis.call('XADD', KEYS[3], '*', unpack(ARGV, 7))
return 1
