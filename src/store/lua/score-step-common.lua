--[[
  score-step-common: what the entity steps of the split score share (issue 15,
  docs/cluster-keys.md "The split of the score"). keys.ts prepends this file to
  score-step-payer.lua, score-step-payee.lua and score-step-device.lua. Not a script by itself.

  Each entity step touches the keys of one entity (one hash tag, so one Redis Cluster slot) and
  is idempotent on the transfer id by a marker in that slot: `{a:<x>}:s:<transferId>` or
  `{d:<x>}:s:<transferId>`, a string '<event hash>|<the step's reply>'. A step that finds its
  marker changes nothing: with the same event hash it answers the stored reply, with another
  one it answers that hash (a different event under a claimed transfer id).

  ARGV common to the entity steps (each step's header lists the rest):
  ARGV[1] t ms (occurredAt)   ARGV[2] amount (thousandths)   ARGV[3] event hash (no '|')
  ARGV[4] the transfer id     ARGV[5] marker ttl ms          ARGV[6] distinct cap
  ARGV[7] t - 24h in ms (lower bound, inclusive, of the distinct sets)

  Replies of every entity step:
  {0, reply}        ran now: recorded the transfer; `reply` is the string kept in the marker
  {1, reply}        ran before for this event: nothing changed, the reply stored then
  {3, event hash}   its marker names another event under this transfer id: nothing changed
  (the payer step also answers {2, time zone}: see score-step-payer.lua)
]]

local cap = tonumber(ARGV[6])
local since_day = ARGV[7]
local SET_TTL_MS = 90900000 -- 25h 15min: 24h plus the 15 min bucket that paces refreshes

-- the integers a step answers, in order (filled by the step and the window functions)
local out = {}

-- The marker's answer when it settles the call ({1, reply} or {3, other hash}), else nil.
local function step_marker(key)
  local m = redis.call('GET', key)
  if not m then return nil end
  local sep = string.find(m, '|', 1, true)
  local hash = string.sub(m, 1, sep - 1)
  if hash ~= ARGV[3] then return {3, hash} end
  return {1, string.sub(m, sep + 1)}
end

-- Writes the marker with the reply (`out` as integers, then `tail` after a '|' when given)
-- and answers it. '%.0f': exact integers, as in score-features.lua's claim.
local function step_done(key, tail)
  local reply = string.format(string.rep('%.0f,', #out - 1) .. '%.0f', unpack(out))
  if tail then reply = reply .. '|' .. tail end
  redis.call('SET', key, ARGV[3] .. '|' .. reply, 'PX', ARGV[5])
  return {0, reply}
end

-- Distinct members seen in the 24h before t, then records `member` (when given). With
-- `maintain`, also drops members older than 24h, enforces the cap and refreshes the TTL.
-- (As in score-features.lua.)
local function distinct_24h(key, member, maintain)
  local n = redis.call('ZCOUNT', key, since_day, '+inf')
  if member then redis.call('ZADD', key, 'GT', ARGV[1], member) end
  if maintain then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. since_day)
    if n + 1 > cap then redis.call('ZREMRANGEBYRANK', key, 0, -cap - 1) end
    redis.call('PEXPIRE', key, SET_TTL_MS)
  elseif n == 0 and member then
    redis.call('PEXPIRE', key, SET_TTL_MS)
  end
  if n > cap then return cap end
  return n
end
