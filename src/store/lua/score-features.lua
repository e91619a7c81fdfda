--[[
  score-features: the ONE Redis round trip of a score (DESIGN §4 step 2).

  Atomically: claims the transferId for idempotency, reads the payer / payee / device
  velocity state as it was BEFORE this transfer, and records the transfer in it. A transferId
  seen before changes nothing and returns the stored event hash and decision instead.

  Windows are bucketed with running totals (docs/velocity-windows.md): per window k the hash
  holds one field per live bucket, `w<k>:<bucket>` = '<count>,<sum>', and one field `m` holds
  for the four windows in turn the running count, running sum, newest bucket and oldest live
  bucket (16 comma-separated integers). Adding evicts the buckets that fell out of the window
  (amortised O(1)). Amounts are integers in thousandths. State in the earlier layout (one
  field per count, sum, head and tail) is folded in when first met (fold_legacy, below).

  Cost matters here (it runs for every score), and most of it is the per-redis.call overhead
  of Lua in Redis (argument objects, command lookup, reply conversion) rather than the
  commands themselves: so the caller pre-builds every field name and number string it can,
  each window hash is read with one HMGET of 7 fields and written with one HSET of at most
  6 (hence the packed layout), a new pair is read and written by one SET NX GET, the
  distinct sets are trimmed without a ZCARD, and TTLs and trims are refreshed once per bucket
  change of the owning account rather than on every call (the TTLs below include that
  bucket's width).

  KEYS[1]  tx claim        string  '<event hash>|<claim ms>|<the 33 integers this call returned>|
                                   <limits currency>|<the 4 aged report integers>' (earlier versions
                                   wrote fewer parts: only '<event hash>', or without the last one or two)
  KEYS[2]  tx decision     string  decision JSON (written by the app after scoring)
  KEYS[3]  payer out       hash    windows of amounts sent by the payer; `last` = ms of last transfer
  KEYS[4]  payer payees    zset    payee -> ms of last transfer (24h distinct payees)
  KEYS[5]  pair            string  '<ms first paid>,<times paid>' (first paid moves back for a late event)
  KEYS[6]  payer devices   hash    deviceId -> ms first seen             (untouched without a device)
  KEYS[7]  device payers   zset    payer -> ms of last transfer           (untouched without a device)
  KEYS[8]  payee in        hash    windows of amounts received by the payee
  KEYS[9]  payee out       hash    windows of amounts sent by the payee (read only here, but for
                                   folding in the earlier layout)
  KEYS[10] payee payers    zset    payer -> ms of last transfer (24h fan-in)
  KEYS[11] payee new       zset    payer -> ms of first transfer to this payee (24h)
  KEYS[12] payee reports   hash    count, reporters, last (ms) -- written by the case library
  KEYS[13] payer guardian  hash    guardian limits: tz, currency, perTx, daily (thousandths),
                                   day (local date of the newest spend), prev (the day before it
                                   that is kept), d:<date> spent that day, s:<transfer id> what
                                   this transfer added: '<date>,<thousandths>' (',r' appended once
                                   given back: guardian-refund.lua)
  KEYS[14] pair in         string  the same pair in the payee's slot, `{a:<payee>}:pairin:<payer>`,
                                   written with KEYS[5]'s new value and TTL (release A of issue 15,
                                   docs/cluster-keys.md: the split score's payee step reads only
                                   this one); never read here: KEYS[5] stays the truth
  KEYS[15] payee report times zset  case id -> reported at (ms), written by report-flags.lua
                                   (report-age.lua, prepended by keys.ts, reads it)

  ARGV[1] t ms (occurredAt)   ARGV[2] amount (thousandths)   ARGV[3] event hash
  ARGV[4] payer id   ARGV[5] payee id   ARGV[6] device id or ''
  ARGV[7] tx ttl ms   ARGV[8] pair ttl ms   ARGV[9] distinct cap   ARGV[10] window ttl ms
  ARGV[11] t - 24h in ms (lower bound, inclusive, of the distinct sets)
  ARGV[12..23] per window k = 1h, 24h, 7d, 30d: bucket count n, bucket index floor(t / width),
               and the field name of that bucket ('w<k>:<index>')
  ARGV[24] the time zone the caller assumes the payer's guardian limits use, '' when it knows of none
  ARGV[25] the local date (YYYY-MM-DD) of t in that time zone, '' with ARGV[24] ''
  ARGV[26] the transfer's currency
  ARGV[27] the claim time in ms (the caller's clock, not occurredAt)
  ARGV[28] the transfer id (names its guardian spend record)
  ARGV[29] the half-life of a report's weight in ms (REPORT_HALF_LIFE_HOURS)

  Returns {2, time zone} when the payer has guardian limits in another time zone than ARGV[24]
  (nothing changed: the caller computes the local date in that zone and calls again), else
  {1, claim (as stored in KEYS[1]), decision or ''} for a transferId already claimed, else
  {0, payer out c1,s1..c4,s4 (8), payer last ms or -1, payer distinct payees 24h,
      pair count, pair first ms or -1, device new 1/0/-1, device distinct payers 24h or -1,
      payee in c1,s1..c4,s4 (8), payee out sum 1h, payee out sum 24h,
      payee distinct payers 24h, payee new payers 24h,
      report count, distinct reporters, last report ms or -1,
      guardian: outcome (0 no limits, 1 within, 2 over per-transfer, 3 over daily,
      4 currency differs from the limits'), spent that local day before this transfer,
      per-transfer limit or -1, daily limit or -1,
      the limits' currency or '',
      aged reports (issue 16, report-age.lua): reports of the last 1d, 7d, 28d, decayed count
      in thousandths}   (1 + 33 integers + 1 string + 4 integers; each group was added after
      the one before, so earlier fields keep their places)

  Guardian limits are checked here, in the same atomic step as the windows, so two concurrent
  transfers cannot both slip under a daily limit. Only a transfer within the limits adds to
  the day's spend; one over a limit is blocked and spends nothing. A transfer within the limits
  may still end unpaid (blocked by the rules or the model, cancelled, abandoned, rejected in
  review): the amount and local day it added are recorded in `s:<transfer id>` so that
  guardian-refund.lua can give it back exactly once. Records of days no longer kept are dropped
  when the newest day moves on (their day's figure is dropped then too).

  The claim keeps what the call answered (issue 19, docs/score-durability.md): a retry of a
  transfer whose claimant died before recording its decision decides on exactly the state the
  claimant saw, and nothing is counted twice. The claim is written last, with the reply
  (one SET where there was a SET NX); the GET before it is the idempotency check, atomic with
  everything else in the script.
]]

local guardian = redis.call('HMGET', KEYS[13], 'tz', 'currency', 'perTx', 'daily', 'day')
if guardian[1] and guardian[1] ~= ARGV[24] then return {2, guardian[1]} end

local claim = redis.call('GET', KEYS[1])
if claim then return {1, claim, redis.call('GET', KEYS[2]) or ''} end

local t = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local window_ttl = ARGV[10]
local cap = tonumber(ARGV[9])
local since_day = ARGV[11]
local SET_TTL_MS = 90900000 -- 25h 15min: 24h plus the 15 min bucket that paces refreshes

local N, I, IS, FB = {}, {}, {}, {}
for k = 1, 4 do
  local a = 9 + 3 * k
  N[k] = tonumber(ARGV[a])
  IS[k] = ARGV[a + 1]
  I[k] = tonumber(IS[k])
  FB[k] = ARGV[a + 2]
end
local P = {'w1:', 'w2:', 'w3:', 'w4:'}
-- the `m` field: count, sum, newest bucket, oldest live bucket of each window, in order
local META_PATTERN = '^' .. string.rep('(%-?%d+),', 15) .. '(%-?%d+)$'
-- '%.0f', not '%d': Lua's %d wraps a number of 2^63 or more to a negative one, which a running
-- sum would then keep; %.0f writes any double as an integer (exact up to 2^53, as documented)
local META_FORMAT = string.rep('%.0f,', 15) .. '%.0f'

local out = {0}

-- Redis turns a Lua number into a 64-bit integer reply, and one beyond that range into garbage;
-- sums are exact only to 2^53 thousandths anyway (docs/velocity-windows.md), so a reply says
-- at most that (a payer sending over 9·10^12 major units in a window reads as exactly that)
local SUM_MAX = 9007199254740991
local function reply_sum(s)
  if s > SUM_MAX then return SUM_MAX end
  return s
end

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

-- Count and sum of the bucket fields from..to of window prefix p ('w<k>:'); collects present names.
local function bucket_range(key, p, from, to, present)
  local c, s = 0, 0
  if to - from >= RANGE_BY_NAME then
    local n = #p
    for name, val in pairs(all_fields(key)) do
      if string.sub(name, 1, n) == p then
        local j = tonumber(string.sub(name, n + 1))
        if j and j >= from and j <= to then
          local bc, bs = string.match(val, '^(%-?%d+),(%-?%d+)$')
          c = c + tonumber(bc)
          s = s + tonumber(bs)
          if present then present[#present + 1] = name end
        end
      end
    end
    return c, s
  end
  local names = {}
  for j = from, to do names[#names + 1] = p .. string.format('%d', j) end
  local vals = redis.call('HMGET', key, unpack(names))
  for i = 1, #names do
    local val = vals[i]
    if val then
      local bc, bs = string.match(val, '^(%-?%d+),(%-?%d+)$')
      c = c + tonumber(bc)
      s = s + tonumber(bs)
      if present then present[#present + 1] = names[i] end
    end
  end
  return c, s
end

-- The 16 integers of a hash's `m` field, or nil when it has no windows yet.
local function read_meta(m)
  if not m then return nil end
  local v = {string.match(m, META_PATTERN)}
  for i = 1, 16 do v[i] = tonumber(v[i]) end
  return v
end

-- Window state in the layout of earlier versions (fields w<k>c, w<k>s, w<k>h, w<k>t and
-- w<k>:<bucket>c|s) is folded into this one the first time a call meets it. While an older
-- version still runs beside this one (a rolling deploy) it may write such fields again; they
-- are folded in again, bucket by bucket. The totals are recomputed from the live buckets,
-- which is what the running totals always equal, so the fold is exact. (The older version
-- itself reads a folded hash as empty: docs/velocity-windows.md says how to upgrade.)
local function fold_legacy(key)
  ALL[key] = nil
  local flat = redis.call('HGETALL', key)
  local f = {}
  for i = 1, #flat, 2 do f[flat[i]] = flat[i + 1] end
  local meta = read_meta(f.m)
  local buckets = {{}, {}, {}, {}}
  local del, set = {}, {}
  for name, val in pairs(f) do
    local k, j, kind = string.match(name, '^w(%d):(%-?%d+)([cs]?)$')
    k, j = tonumber(k), tonumber(j)
    if k and k >= 1 and k <= 4 and j then
      local b = buckets[k][j]
      if not b then b = {0, 0}; buckets[k][j] = b end
      if kind == '' then
        local bc, bs = string.match(val, '^(%-?%d+),(%-?%d+)$')
        b[1], b[2] = b[1] + tonumber(bc), b[2] + tonumber(bs)
      else
        if kind == 'c' then b[1] = b[1] + tonumber(val) else b[2] = b[2] + tonumber(val) end
        del[#del + 1] = name
      end
    elseif string.match(name, '^w%d[csht]$') then
      del[#del + 1] = name
    end
  end
  local m = {}
  for k = 1, 4 do
    local h, tl
    if meta then h, tl = meta[(k - 1) * 4 + 3], meta[(k - 1) * 4 + 4] end
    local lh, ltl = tonumber(f['w' .. k .. 'h']), tonumber(f['w' .. k .. 't'])
    if lh and (h == nil or lh > h) then h = lh end
    if ltl and (tl == nil or ltl < tl) then tl = ltl end
    -- (the old layout always wrote all four windows; an empty window if one is missing)
    if h == nil then h = I[k] - N[k] end
    if tl == nil then tl = h end
    -- buckets older than the window of the newest one are not live
    tl = math.max(tl, h - N[k] + 1)
    local c, s = 0, 0
    for j, b in pairs(buckets[k]) do
      local name = P[k] .. string.format('%d', j)
      if j >= tl and j <= h then
        c, s = c + b[1], s + b[2]
        set[#set + 1] = name
        set[#set + 1] = string.format('%.0f,%.0f', b[1], b[2])
      elseif f[name] then
        del[#del + 1] = name
      end
    end
    m[#m + 1] = c; m[#m + 1] = s; m[#m + 1] = h; m[#m + 1] = tl
  end
  if #del > 0 then redis.call('HDEL', key, unpack(del)) end
  set[#set + 1] = 'm'
  set[#set + 1] = string.format(META_FORMAT, unpack(m))
  redis.call('HSET', key, unpack(set))
end

-- Appends count and sum before this transfer for each window, records the transfer, and
-- returns the HSET arguments (the caller adds its own fields and writes once), the value of
-- `extra` (a field read along), and whether the 24h and 30d windows entered a new bucket.
local function window_add(key, extra)
  -- w4h: present only in state of the earlier layout (fold_legacy). Once no version of the
  -- earlier layout runs and 31 days have passed (the window TTL), none is left and the fold,
  -- with this field, can go.
  local v = redis.call('HMGET', key, 'm', FB[1], FB[2], FB[3], FB[4], extra, 'w4h')
  if v[7] then
    fold_legacy(key)
    v = redis.call('HMGET', key, 'm', FB[1], FB[2], FB[3], FB[4], extra)
  end
  local meta = read_meta(v[1]) or {}
  local set, del = {}, {}
  local ns = 0
  local moved = {}
  local changed = false
  for k = 1, 4 do
    local b = (k - 1) * 4
    local c = meta[b + 1] or 0
    local s = meta[b + 2] or 0
    local h = meta[b + 3]
    local tl = meta[b + 4]
    local n = N[k]
    local i = I[k]
    local record = true
    local new_h = false
    if h == nil then
      c, s, h, tl, new_h = 0, 0, i, i, true
    elseif i > h then
      new_h = true
      local newtl = i - n + 1
      if newtl > tl then
        local last = math.min(h, newtl - 1)
        if last >= tl then
          local ec, es = bucket_range(key, P[k], tl, last, del)
          c, s = c - ec, s - es
        end
        tl = newtl
      end
      h = i
    elseif i <= h - n then
      -- a late event older than this window relative to the newest one: not counted
      record = false
    elseif i < tl then
      -- a late event inside the window but before the oldest live bucket
      tl = i
    end
    moved[k] = new_h
    out[#out + 1] = c
    out[#out + 1] = reply_sum(s)
    if record then
      changed = true
      c, s = c + 1, s + amount
      local bc, bs = 1, amount
      local bv = v[k + 1]
      if bv then
        local oc, os = string.match(bv, '^(%-?%d+),(%-?%d+)$')
        bc, bs = tonumber(oc) + 1, tonumber(os) + amount
      end
      set[ns + 1] = FB[k]; set[ns + 2] = string.format('%.0f,%.0f', bc, bs)
      ns = ns + 2
    end
    meta[b + 1], meta[b + 2], meta[b + 3], meta[b + 4] = c, s, h, tl
  end
  if changed then
    set[ns + 1] = 'm'; set[ns + 2] = string.format(META_FORMAT, unpack(meta, 1, 16))
  end
  if #del > 0 then redis.call('HDEL', key, unpack(del)) end
  return set, v[6], moved[2], moved[4]
end

local function write_windows(key, set, refresh_ttl)
  ALL[key] = nil
  if #set > 0 then redis.call('HSET', key, unpack(set)) end
  if refresh_ttl then redis.call('PEXPIRE', key, window_ttl) end
end

-- Sums of the 1h and 24h windows as of time t, without changing anything.
local function window_read_sums(key)
  local v = redis.call('HMGET', key, 'm', 'w4h')
  if v[2] then
    fold_legacy(key)
    v = redis.call('HMGET', key, 'm')
  end
  local meta = read_meta(v[1])
  for k = 1, 2 do
    local s, h, tl = 0, nil, nil
    if meta then s, h, tl = meta[(k - 1) * 4 + 2], meta[(k - 1) * 4 + 3], meta[(k - 1) * 4 + 4] end
    local newtl = I[k] - N[k] + 1
    if h == nil or h < newtl then
      s = 0
    elseif tl < newtl then
      local _, es = bucket_range(key, P[k], tl, newtl - 1, nil)
      s = s - es
    end
    out[#out + 1] = reply_sum(s)
  end
end

-- Distinct members seen in the 24h before t, then records `member` (when given). With
-- `maintain`, also drops members older than 24h, enforces the cap and refreshes the TTL.
local function distinct_24h(key, member, maintain)
  local n = redis.call('ZCOUNT', key, since_day, '+inf')
  if member then redis.call('ZADD', key, 'GT', ARGV[1], member) end
  if maintain then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. since_day)
    -- what is left scores at least since_day: the n members counted above plus at most
    -- `member`, so the size is known without a ZCARD; a negative stop keeps the newest cap
    if n + 1 > cap then redis.call('ZREMRANGEBYRANK', key, 0, -cap - 1) end
    redis.call('PEXPIRE', key, SET_TTL_MS)
  elseif n == 0 and member then
    -- a late event (its 24h bucket is not the newest) may have just created the set, which
    -- would otherwise have no TTL until the account's next newer transfer
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

-- pair: a first transfer writes '<t>,1' in the same call that finds the pair absent (SET NX
-- GET answers the old value, and sets nothing, when there is one)
local pair = redis.call('SET', KEYS[5], ARGV[1] .. ',1', 'NX', 'GET', 'PX', ARGV[8])
local first, paid = nil, 0
if pair then
  local f, c = string.match(pair, '^(%d+),(%d+)$')
  first, paid = tonumber(f), tonumber(c)
  -- a late event moves the first-paid time back
  if t < first then f = ARGV[1] end
  local value = f .. ',' .. string.format('%d', paid + 1)
  redis.call('SET', KEYS[5], value, 'PX', ARGV[8])
  redis.call('SET', KEYS[14], value, 'PX', ARGV[8])
else
  redis.call('SET', KEYS[14], ARGV[1] .. ',1', 'PX', ARGV[8])
end
out[#out + 1] = paid
out[#out + 1] = first or -1

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
-- the same reports by age, read only when the payee has any (most payees have none)
local rep_1d, rep_7d, rep_28d, rep_decayed = 0, 0, 0, 0
if rep[1] then rep_1d, rep_7d, rep_28d, rep_decayed = report_age(KEYS[15], ARGV[1], tonumber(ARGV[29])) end

-- guardian limits
if guardian[1] then
  local day = ARGV[25]
  local spent = tonumber(redis.call('HGET', KEYS[13], 'd:' .. day)) or 0
  local per_tx = tonumber(guardian[3])
  local daily = tonumber(guardian[4])
  local outcome = 1
  if ARGV[26] ~= guardian[2] then
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
        -- spend records of days before the kept ones: nothing is left to give back to
        -- (once a day per payer with limits, over a hash of a few days' transfers)
        local flat = redis.call('HGETALL', KEYS[13])
        local stale = {}
        for i = 1, #flat, 2 do
          if string.sub(flat[i], 1, 2) == 's:' and string.sub(flat[i + 1], 1, 10) < newest then
            stale[#stale + 1] = flat[i]
            -- in slices: unpack() of thousands of names would overflow Lua's stack
            if #stale == 1000 then
              redis.call('HDEL', KEYS[13], unpack(stale))
              stale = {}
            end
          end
        end
        if #stale > 0 then redis.call('HDEL', KEYS[13], unpack(stale)) end
      end
      redis.call('HSET', KEYS[13], 'day', day)
    end
    redis.call('HSET', KEYS[13], 's:' .. ARGV[28], day .. ',' .. string.format('%.0f', amount))
  end
  out[#out + 1] = outcome
  out[#out + 1] = spent
  out[#out + 1] = per_tx or -1
  out[#out + 1] = daily or -1
  out[#out + 1] = guardian[2] or ''
else
  out[#out + 1] = 0
  out[#out + 1] = 0
  out[#out + 1] = -1
  out[#out + 1] = -1
  out[#out + 1] = ''
end

out[#out + 1] = rep_1d
out[#out + 1] = rep_7d
out[#out + 1] = rep_28d
out[#out + 1] = rep_decayed

-- the claim, with this reply ('%.0f': exact integers, as the reply itself carries them): the 33
-- integers, the guardian limits' currency and the aged reports, each group after its own '|'
local CLAIM_FORMAT = '%s|%s|' .. string.rep('%.0f,', 32) .. '%.0f|%s|%.0f,%.0f,%.0f,%.0f'
redis.call('SET', KEYS[1], string.format(CLAIM_FORMAT, ARGV[3], ARGV[27], unpack(out, 2)), 'PX', ARGV[7])

return out
