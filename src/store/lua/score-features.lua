--[[
  score-features: the ONE Redis round trip of a score (DESIGN §4 step 2).

  Atomically: claims the transferId for idempotency, reads the payer / payee / device
  velocity state as it was BEFORE this transfer, and records the transfer in it. A transferId
  seen before changes nothing and returns the stored event hash and decision instead.

  Windows are bucketed with running totals (docs/velocity-windows.md): per window k the hash
  holds per-bucket count and sum fields `w<k>:<bucket>c|s`, the running totals `w<k>c`,
  `w<k>s`, the newest bucket `w<k>h` and the oldest live bucket `w<k>t`. Adding evicts the
  buckets that fell out of the window (amortised O(1)). Amounts are integers in thousandths.

  Cost matters here (it runs for every score): the caller pre-builds every field name and
  number string it can, and TTLs and trims are refreshed once per bucket change of the
  owning account rather than on every call (the TTLs below include that bucket's width).

  KEYS[1]  tx claim        string  event hash
  KEYS[2]  tx decision     string  decision JSON (written by the app after scoring)
  KEYS[3]  payer out       hash    windows of amounts sent by the payer; `last` = ms of last transfer
  KEYS[4]  payer payees    zset    payee -> ms of last transfer (24h distinct payees)
  KEYS[5]  pair            string  '<ms first paid>,<times paid>'
  KEYS[6]  payer devices   hash    deviceId -> ms first seen             (untouched without a device)
  KEYS[7]  device payers   zset    payer -> ms of last transfer           (untouched without a device)
  KEYS[8]  payee in        hash    windows of amounts received by the payee
  KEYS[9]  payee out       hash    windows of amounts sent by the payee (read only here)
  KEYS[10] payee payers    zset    payer -> ms of last transfer (24h fan-in)
  KEYS[11] payee new       zset    payer -> ms of first transfer to this payee (24h)
  KEYS[12] payee reports   hash    count, reporters, last (ms) -- written by the case library
  KEYS[13] payer guardian  hash    guardian limits: tz, currency, perTx, daily (thousandths),
                                   day (local date of the newest spend), d:<date> spent that day

  ARGV[1] t ms (occurredAt)   ARGV[2] amount (thousandths)   ARGV[3] event hash
  ARGV[4] payer id   ARGV[5] payee id   ARGV[6] device id or ''
  ARGV[7] tx ttl ms   ARGV[8] pair ttl ms   ARGV[9] distinct cap   ARGV[10] window ttl ms
  ARGV[11] t - 24h in ms (lower bound, inclusive, of the distinct sets)
  ARGV[12..27] per window k = 1h, 24h, 7d, 30d: bucket count n, bucket index floor(t / width),
               and the count and sum field names of that bucket ('w<k>:<index>c', 'w<k>:<index>s')
  ARGV[28] the time zone the caller assumes the payer's guardian limits use, '' when it knows of none
  ARGV[29] the local date (YYYY-MM-DD) of t in that time zone, '' with ARGV[28] ''
  ARGV[30] the transfer's currency

  Returns {2, time zone} when the payer has guardian limits in another time zone than ARGV[28]
  (nothing changed: the caller computes the local date in that zone and calls again), else
  {1, event hash, decision or ''} for a transferId already claimed, else
  {0, payer out c1,s1..c4,s4 (8), payer last ms or -1, payer distinct payees 24h,
      pair count, pair first ms or -1, device new 1/0/-1, device distinct payers 24h or -1,
      payee in c1,s1..c4,s4 (8), payee out sum 1h, payee out sum 24h,
      payee distinct payers 24h, payee new payers 24h,
      report count, distinct reporters, last report ms or -1,
      guardian: outcome (0 no limits, 1 within, 2 over per-transfer, 3 over daily,
      4 currency differs from the limits'), spent that local day before this transfer,
      per-transfer limit or -1, daily limit or -1}   (1 + 33 integers)

  Guardian limits are checked here, in the same atomic step as the windows, so two concurrent
  transfers cannot both slip under a daily limit. Only a transfer within the limits adds to
  the day's spend; one over a limit is blocked and spends nothing.
]]

local guardian = redis.call('HMGET', KEYS[13], 'tz', 'currency', 'perTx', 'daily', 'day')
if guardian[1] and guardian[1] ~= ARGV[28] then return {2, guardian[1]} end

if not redis.call('SET', KEYS[1], ARGV[3], 'NX', 'PX', ARGV[7]) then
  return {1, redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]) or ''}
end

local t = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local window_ttl = ARGV[10]
local cap = tonumber(ARGV[9])
local since_day = ARGV[11]
local SET_TTL_MS = 90900000 -- 25h 15min: 24h plus the 15 min bucket that paces refreshes

local N, I, IS, FC, FS = {}, {}, {}, {}, {}
for k = 1, 4 do
  local a = 8 + 4 * k
  N[k] = tonumber(ARGV[a])
  IS[k] = ARGV[a + 1]
  I[k] = tonumber(IS[k])
  FC[k] = ARGV[a + 2]
  FS[k] = ARGV[a + 3]
end
local P = {'w1', 'w2', 'w3', 'w4'}
local META = {
  {'w1c', 'w1s', 'w1h', 'w1t'}, {'w2c', 'w2s', 'w2h', 'w2t'},
  {'w3c', 'w3s', 'w3h', 'w3t'}, {'w4c', 'w4s', 'w4h', 'w4t'},
}

local out = {0}

-- All fields of a hash, read once per script run (only for long eviction ranges, below).
-- Valid until the script writes that key: write_windows drops the copy.
local ALL = {}
local function all_fields(key)
  local t = ALL[key]
  if t == nil then
    t = {}
    local flat = redis.call('HGETALL', key)
    for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
    ALL[key] = t
  end
  return t
end

-- Beyond this many buckets, finding the live ones among the hash's fields is cheaper than
-- asking for every bucket of the range (an account idle for days would otherwise read
-- hundreds of absent fields on its next transfer).
local RANGE_BY_NAME = 24

-- Count and sum of the bucket fields from..to of window prefix p; collects present names.
local function bucket_range(key, p, from, to, present)
  local c, s = 0, 0
  if to - from >= RANGE_BY_NAME then
    local t = all_fields(key)
    local prefix = p .. ':'
    local n = #prefix
    for name, val in pairs(t) do
      if string.sub(name, -1) == 'c' and string.sub(name, 1, n) == prefix then
        local js = string.sub(name, n + 1, -2)
        local j = tonumber(js)
        if j and j >= from and j <= to then
          local sname = prefix .. js .. 's'
          c = c + tonumber(val)
          s = s + (tonumber(t[sname]) or 0)
          if present then
            present[#present + 1] = name
            present[#present + 1] = sname
          end
        end
      end
    end
    return c, s
  end
  local names = {}
  for j = from, to do
    local js = p .. ':' .. string.format('%d', j)
    names[#names + 1] = js .. 'c'
    names[#names + 1] = js .. 's'
  end
  local vals = redis.call('HMGET', key, unpack(names))
  for i = 1, #names, 2 do
    local bc = tonumber(vals[i])
    if bc then
      c = c + bc
      s = s + tonumber(vals[i + 1])
      if present then
        present[#present + 1] = names[i]
        present[#present + 1] = names[i + 1]
      end
    end
  end
  return c, s
end

-- Appends count and sum before this transfer for each window, records the transfer, and
-- returns the HSET arguments (the caller adds its own fields and writes once), the value of
-- `extra` (a field read along), and whether the 24h and 30d windows entered a new bucket.
local function window_add(key, extra)
  local v = redis.call('HMGET', key,
    'w1c', 'w1s', 'w1h', 'w1t', FC[1], FS[1],
    'w2c', 'w2s', 'w2h', 'w2t', FC[2], FS[2],
    'w3c', 'w3s', 'w3h', 'w3t', FC[3], FS[3],
    'w4c', 'w4s', 'w4h', 'w4t', FC[4], FS[4], extra)
  local set, del = {}, {}
  local ns = 0
  local moved = {}
  for k = 1, 4 do
    local b = (k - 1) * 6
    local c = tonumber(v[b + 1]) or 0
    local s = tonumber(v[b + 2]) or 0
    local h = tonumber(v[b + 3])
    local tl = tonumber(v[b + 4])
    local n = N[k]
    local i = I[k]
    local m = META[k]
    local record = true
    local new_h, new_tl = false, false
    if h == nil then
      c, s, new_h, new_tl = 0, 0, true, i
    elseif i > h then
      new_h = true
      local newtl = i - n + 1
      if newtl > tl then
        local last = math.min(h, newtl - 1)
        if last >= tl then
          local ec, es = bucket_range(key, P[k], tl, last, del)
          c, s = c - ec, s - es
        end
        new_tl = newtl
      end
    elseif i <= h - n then
      -- a late event older than this window relative to the newest one: not counted
      record = false
    elseif i < tl then
      -- a late event inside the window but before the oldest live bucket
      new_tl = i
    end
    moved[k] = new_h
    out[#out + 1] = c
    out[#out + 1] = s
    if record then
      set[ns + 1] = m[1]; set[ns + 2] = c + 1
      set[ns + 3] = m[2]; set[ns + 4] = s + amount
      set[ns + 5] = FC[k]; set[ns + 6] = (tonumber(v[b + 5]) or 0) + 1
      set[ns + 7] = FS[k]; set[ns + 8] = (tonumber(v[b + 6]) or 0) + amount
      ns = ns + 8
      if new_h then set[ns + 1] = m[3]; set[ns + 2] = IS[k]; ns = ns + 2 end
      if new_tl then set[ns + 1] = m[4]; set[ns + 2] = new_tl; ns = ns + 2 end
    end
  end
  if #del > 0 then redis.call('HDEL', key, unpack(del)) end
  return set, v[25], moved[2], moved[4]
end

local function write_windows(key, set, refresh_ttl)
  ALL[key] = nil
  if #set > 0 then redis.call('HSET', key, unpack(set)) end
  if refresh_ttl then redis.call('PEXPIRE', key, window_ttl) end
end

-- Sums of the 1h and 24h windows as of time t, without changing anything.
local function window_read_sums(key)
  local v = redis.call('HMGET', key, 'w1s', 'w1h', 'w1t', 'w2s', 'w2h', 'w2t')
  for k = 1, 2 do
    local s = tonumber(v[(k - 1) * 3 + 1]) or 0
    local h = tonumber(v[(k - 1) * 3 + 2])
    local tl = tonumber(v[(k - 1) * 3 + 3])
    local newtl = I[k] - N[k] + 1
    if h == nil or h < newtl then
      s = 0
    elseif tl < newtl then
      local _, es = bucket_range(key, P[k], tl, newtl - 1, nil)
      s = s - es
    end
    out[#out + 1] = s
  end
end

-- Distinct members seen in the 24h before t, then records `member` (when given). With
-- `maintain`, also drops members older than 24h, enforces the cap and refreshes the TTL.
local function distinct_24h(key, member, maintain)
  local n = redis.call('ZCOUNT', key, since_day, '+inf')
  if member then redis.call('ZADD', key, 'GT', ARGV[1], member) end
  if maintain then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. since_day)
    local size = redis.call('ZCARD', key)
    if size > cap then redis.call('ZREMRANGEBYRANK', key, 0, size - cap - 1) end
    redis.call('PEXPIRE', key, SET_TTL_MS)
  end
  if n > cap then return cap end
  return n
end

-- payer
local payer_set, last_s, payer_moved_24h, payer_moved_30d = window_add(KEYS[3], 'last')
local last = tonumber(last_s)
out[#out + 1] = last or -1
if last == nil or t > last then
  payer_set[#payer_set + 1] = 'last'; payer_set[#payer_set + 1] = ARGV[1]
end
write_windows(KEYS[3], payer_set, payer_moved_30d)
out[#out + 1] = distinct_24h(KEYS[4], ARGV[5], payer_moved_24h)

-- pair
local pair = redis.call('GET', KEYS[5])
local first, paid = nil, 0
if pair then
  local f, c = string.match(pair, '^(%d+),(%d+)$')
  first, paid = tonumber(f), tonumber(c)
end
out[#out + 1] = paid
out[#out + 1] = first or -1
if first == nil or t < first then
  redis.call('SET', KEYS[5], ARGV[1] .. ',' .. string.format('%d', paid + 1), 'PX', ARGV[8])
else
  redis.call('SET', KEYS[5], pair:match('^%d+,') .. string.format('%d', paid + 1), 'PX', ARGV[8])
end

-- device
if ARGV[6] ~= '' then
  local new_device = redis.call('HSETNX', KEYS[6], ARGV[6], ARGV[1])
  out[#out + 1] = new_device
  if payer_moved_30d or new_device == 1 then redis.call('PEXPIRE', KEYS[6], ARGV[8]) end
  -- the device set is shared by payers, so it is maintained on every call
  out[#out + 1] = distinct_24h(KEYS[7], ARGV[4], true)
else
  out[#out + 1] = -1
  out[#out + 1] = -1
end

-- payee
local payee_set, _, payee_moved_24h, payee_moved_30d = window_add(KEYS[8], 'last')
write_windows(KEYS[8], payee_set, payee_moved_30d)
window_read_sums(KEYS[9])
out[#out + 1] = distinct_24h(KEYS[10], ARGV[4], payee_moved_24h)
out[#out + 1] = distinct_24h(KEYS[11], first == nil and ARGV[4], payee_moved_24h or first == nil)

-- case library flags
local rep = redis.call('HMGET', KEYS[12], 'count', 'reporters', 'last')
out[#out + 1] = tonumber(rep[1]) or 0
out[#out + 1] = tonumber(rep[2]) or 0
out[#out + 1] = tonumber(rep[3]) or -1

-- guardian limits
if guardian[1] then
  local day = ARGV[29]
  local spent = tonumber(redis.call('HGET', KEYS[13], 'd:' .. day)) or 0
  local per_tx = tonumber(guardian[3])
  local daily = tonumber(guardian[4])
  local outcome = 1
  if ARGV[30] ~= guardian[2] then
    outcome = 4
  elseif per_tx and amount > per_tx then
    outcome = 2
  elseif daily and spent + amount > daily then
    outcome = 3
  else
    redis.call('HINCRBY', KEYS[13], 'd:' .. day, amount)
    local newest = guardian[5]
    if newest == false or day > newest then
      -- keep the previous day for late events around midnight, drop the one before
      if newest then
        local older = redis.call('HGET', KEYS[13], 'prev')
        if older then redis.call('HDEL', KEYS[13], 'd:' .. older) end
        redis.call('HSET', KEYS[13], 'prev', newest)
      end
      redis.call('HSET', KEYS[13], 'day', day)
    end
  end
  out[#out + 1] = outcome
  out[#out + 1] = spent
  out[#out + 1] = per_tx or -1
  out[#out + 1] = daily or -1
else
  out[#out + 1] = 0
  out[#out + 1] = 0
  out[#out + 1] = -1
  out[#out + 1] = -1
end

return out
