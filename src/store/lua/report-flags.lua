--[[
  report-flags: records one scam report (a case of the case library) against its payee, so the
  next score of a transfer to that payee reads it (score-features KEYS[12]).

  Idempotent per case: a case id already recorded changes nothing, so re-applying a case after
  a failure, or a duplicate report, never counts twice. The counts are the sizes of the sets of
  case ids and reporters (exact, not incremented), written into the hash the score reads.

  The report's time goes into the payee's report times (KEYS[4]), which the score reads for the
  aged report features (report-age.lua: reports of the last 1, 7 and 28 days, decayed count;
  issue 16). That set keeps the newest ARGV[5] reports (older ones are dropped, by time, then
  case id bytes), so its size is bounded whatever a payee's history.

  All four keys expire REPORT_TTL after the payee's latest report (PEXPIREAT last + ttl): the
  flags say "reported in the last REPORT_TTL_DAYS"; a report older than that sets nothing that
  lasts. The case library in SQL stays the record; these are its hot copy.

  KEYS[1] payee reports       hash  count, reporters, last (ms of the latest report)
  KEYS[2] payee cases         set   case ids recorded
  KEYS[3] payee reporters     set   digests of the reporters ('<type>:<id>'), never the ids themselves
  KEYS[4] payee report times  zset  case id -> reported at (ms), the newest ARGV[5]

  ARGV[1] case id   ARGV[2] reporter digest   ARGV[3] reported at (ms)   ARGV[4] ttl (ms)
  ARGV[5] the most report times kept

  Returns {1 if recorded now | 0 if the case was already recorded, count, reporters, last ms}
]]

if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then
  local v = redis.call('HMGET', KEYS[1], 'count', 'reporters', 'last')
  return {0, tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or -1}
end

redis.call('SADD', KEYS[3], ARGV[2])
local count = redis.call('SCARD', KEYS[2])
local reporters = redis.call('SCARD', KEYS[3])
local last = tonumber(redis.call('HGET', KEYS[1], 'last'))
local t = tonumber(ARGV[3])
if last == nil or t > last then last = t end
redis.call('HSET', KEYS[1], 'count', count, 'reporters', reporters, 'last', string.format('%d', last))
local times_cap = tonumber(ARGV[5])
if redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1]) == 1 and redis.call('ZCARD', KEYS[4]) > times_cap then
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -times_cap - 1)
end
local expire_at = string.format('%d', last + tonumber(ARGV[4]))
for i = 1, 4 do redis.call('PEXPIREAT', KEYS[i], expire_at) end
return {1, count, reporters, last}
