--[[
  score-windows: the bucketed velocity windows with running totals (docs/velocity-windows.md),
  for the payer and payee steps of the split score (keys.ts prepends score-step-common.lua and
  this file to them). Not a script by itself. The functions are those of score-features.lua,
  which keeps its own copy while it is the live score (issue 15: it goes once the steps are
  wired in); a change to one is a change to both (the differential test in
  test/integration/score-steps.test.ts compares them).

  ARGV[8] window ttl ms
  ARGV[9..20] per window k = 1h, 24h, 7d, 30d: bucket count n, bucket index floor(t / width),
              and the field name of that bucket ('w<k>:<index>')
]]

local amount = tonumber(ARGV[2])
local window_ttl = ARGV[8]

local N, I, IS, FB = {}, {}, {}, {}
for k = 1, 4 do
  local a = 6 + 3 * k
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

