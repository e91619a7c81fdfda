--[[
  score-step-payer: the payer's step of the split score (issue 15, docs/cluster-keys.md), in the
  payer's slot `{a:<payer>}`: the payer's windows, distinct payees, devices and guardian limits,
  as score-features.lua does them (same order, same TTL rules), read before this transfer and
  then recorded. keys.ts prepends score-step-common.lua (markers, ARGV[1..7], replies) and
  score-windows.lua (ARGV[8..20]).

  KEYS[1] payer out       hash    windows of amounts sent; `last` = ms of the last transfer
  KEYS[2] payer payees    zset    payee -> ms of last transfer (24h distinct payees)
  KEYS[3] payer devices   hash    deviceId -> ms first seen (untouched without a device)
  KEYS[4] payer guardian  hash    guardian limits and spend (score-features.lua's header)
  KEYS[5] marker          string  '{a:<payer>}:s:<transfer id>'
  KEYS[6] pair            string  '{a:<payer>}:pair:<payee>' = '<ms first paid>,<times paid>':
                                  today's layout, written (never read) so that a rollback to
                                  release A keeps the pair's history (docs/cluster-keys.md,
                                  "Migrating today's data", step 3); the payee step's
                                  `pairin` is the one read

  ARGV[21] pair ttl ms (the devices hash's and the pair's TTL)   ARGV[22] payee id   ARGV[23] device id or ''
  ARGV[24] the time zone the caller assumes the guardian limits use, '' when it knows of none
  ARGV[25] the local date (YYYY-MM-DD) of t in that zone, '' with ARGV[24] ''
  ARGV[26] the transfer's currency

  The reply string: 'c1,s1,..,c4,s4 (8), last ms or -1, distinct payees 24h, device new 1/0/-1,
  guardian outcome (0 none, 1 within, 2 over per-transfer, 3 over daily, 4 other currency),
  spent that local day before this transfer, per-transfer limit or -1, daily limit or -1|the
  limits' currency or ''' (12 integers, then the currency).
  Also returns {2, time zone} (nothing changed, no marker) when the payer has guardian limits in
  another zone than ARGV[24]: the caller computes the local date there and sends this step again.
]]

local settled = step_marker(KEYS[5])
if settled then return settled end

local guardian = redis.call('HMGET', KEYS[4], 'tz', 'currency', 'perTx', 'daily', 'day')
if guardian[1] and guardian[1] ~= ARGV[24] then return {2, guardian[1]} end

local t = tonumber(ARGV[1])

local payer_set, last_s, payer_moved_24h, payer_moved_30d = window_add(KEYS[1], 'last')
local last = tonumber(last_s)
out[#out + 1] = last or -1
if last == nil or t > last then
  payer_set[#payer_set + 1] = 'last'; payer_set[#payer_set + 1] = ARGV[1]
end
write_windows(KEYS[1], payer_set, payer_moved_30d)
out[#out + 1] = distinct_24h(KEYS[2], ARGV[22], payer_moved_24h)

-- the pair in today's layout, as score-features.lua writes it (written only, for a rollback)
local pair = redis.call('SET', KEYS[6], ARGV[1] .. ',1', 'NX', 'GET', 'PX', ARGV[21])
if pair then
  local f, c = string.match(pair, '^(%d+),(%d+)$')
  if t < tonumber(f) then f = ARGV[1] end
  redis.call('SET', KEYS[6], f .. ',' .. string.format('%d', tonumber(c) + 1), 'PX', ARGV[21])
end

if ARGV[23] ~= '' then
  local new_device = redis.call('HSETNX', KEYS[3], ARGV[23], ARGV[1])
  out[#out + 1] = new_device
  if payer_moved_30d or new_device == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[21]) end
else
  out[#out + 1] = -1
end

if guardian[1] then
  local day = ARGV[25]
  local spent = tonumber(redis.call('HGET', KEYS[4], 'd:' .. day)) or 0
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
    redis.call('HINCRBY', KEYS[4], 'd:' .. day, amount)
    local newest = guardian[5]
    if newest == false or day > newest then
      if newest then
        local older = redis.call('HGET', KEYS[4], 'prev')
        if older then redis.call('HDEL', KEYS[4], 'd:' .. older) end
        redis.call('HSET', KEYS[4], 'prev', newest)
        local flat = redis.call('HGETALL', KEYS[4])
        local stale = {}
        for i = 1, #flat, 2 do
          if string.sub(flat[i], 1, 2) == 's:' and string.sub(flat[i + 1], 1, 10) < newest then
            stale[#stale + 1] = flat[i]
            if #stale == 1000 then
              redis.call('HDEL', KEYS[4], unpack(stale))
              stale = {}
            end
          end
        end
        if #stale > 0 then redis.call('HDEL', KEYS[4], unpack(stale)) end
      end
      redis.call('HSET', KEYS[4], 'day', day)
    end
    redis.call('HSET', KEYS[4], 's:' .. ARGV[4], day .. ',' .. string.format('%.0f', amount))
  end
  out[#out + 1] = outcome
  out[#out + 1] = spent
  out[#out + 1] = per_tx or -1
  out[#out + 1] = daily or -1
  return step_done(KEYS[5], guardian[2] or '')
end
out[#out + 1] = 0
out[#out + 1] = 0
out[#out + 1] = -1
out[#out + 1] = -1
return step_done(KEYS[5], '')
