--[[
  report-flags: records one scam report (a case of the case library) against its payee, so the
  next score of a transfer to that payee reads it (score-features KEYS[12]).

  Idempotent per case: a case id already recorded changes nothing, so re-applying a case after
  a failure, or a duplicate report, never counts twice. The counts are the sizes of the sets of
  case ids and reporters (exact, not incremented), written into the hash the score reads.

  All three keys expire REPORT_TTL after the payee's latest report (PEXPIREAT last + ttl): the
  flags say "reported in the last REPORT_TTL_DAYS"; a report older than that sets nothing that
  lasts. The case library in SQL stays the record; these are its hot copy.

  KEYS[1] payee reports    hash  count, reporters, last (ms of the latest report)
  KEYS[2] payee cases      set   case ids recorded
  KEYS[3] payee reporters  set   digests of the reporters ('<type>:<id>'), never the ids themselves

  ARGV[1] case id   ARGV[2] reporter digest   ARGV[3] reported at (ms)   ARGV[4] ttl (ms)

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
local expire_at = string.format('%d', last + tonumber(ARGV[4]))
for i = 1, 3 do redis.call('PEXPIREAT', KEYS[i], expire_at) end
return {1, count, reporters, last}
