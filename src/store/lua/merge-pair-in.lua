--[[
  merge-pair-in: `npm run redis:migrate` (issue 15, release A; docs/cluster-keys.md) writes one
  payer -> payee pair of today's layout (`{a:<payer>}:pair:<payee>`, score-features.lua) into
  the payee's slot (`{a:<payee>}:pairin:<payer>`, score-step-payee.lua), merged with what is
  there: the earlier first time, the larger count (a pair only grows: the larger count is the
  later state, and a dual write of release A already copied the whole pair), and the later
  expiry. Idempotent: merging the same pair again changes nothing.

  KEYS[1] pair in   string  '<ms first paid>,<times paid>'

  ARGV[1] the pair's value ('<ms first paid>,<times paid>')
  ARGV[2] the pair's expiry, unix ms (PEXPIRETIME), or -1 when it has none

  Returns 0 unchanged, 1 created, 2 merged into an existing one, -1 a stored pair in that is
  not '<integer>,<integer>' (left as it is).
]]

local f, c = string.match(ARGV[1], '^(%d+),(%d+)$')
local first, count = tonumber(f), tonumber(c)
local expire_at = tonumber(ARGV[2])

local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[1])
  if expire_at > 0 then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
  return 1
end

local cf, cc = string.match(cur, '^(%d+),(%d+)$')
if not cf then return -1 end
local cur_first, cur_count = tonumber(cf), tonumber(cc)
local cur_expire = redis.call('PEXPIRETIME', KEYS[1])

local changed = false
if first < cur_first or count > cur_count then
  local value = string.format('%d,%d', math.min(first, cur_first), math.max(count, cur_count))
  redis.call('SET', KEYS[1], value, 'KEEPTTL')
  changed = true
end
-- the later expiry; a pair without one leaves the pair in without one
if cur_expire > 0 and (expire_at < 0 or expire_at > cur_expire) then
  if expire_at < 0 then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
  changed = true
end
if changed then return 2 end
return 0
