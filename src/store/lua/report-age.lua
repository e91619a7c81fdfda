--[[
  report-age: a payee's scam reports by age (issues 16 and 20), shared by score-features.lua and
  score-step-payee.lua (keys.ts prepends this file to both, so the two compute the same numbers;
  src/features/velocity-model.ts is its model without Redis). Not a script by itself.

  `key` is the payee's report times, a sorted set case id -> reported at (ms), written by
  report-flags.lua (its newest REPORT_TIMES_CAP reports). A report counts at time t from its own
  time on: those reported after t are not known yet (in a replay a report's time is the time it
  became available, i.e. its transfer's time plus the label delay).

  Returns, over the reports with reported-at <= t (in the set's order: time, then case id bytes):
  the reports of the last 1, 7 and 28 days (reported-at in (t - W, t]), and the decayed report
  count sum(2^(-(t - at) / half-life)) in thousandths, rounded (a report of now counts 1000,
  one a half-life old 500).
]]

local REPORT_DAY_MS = 86400000

local function report_age(key, t_arg, half_life_ms)
  local r = redis.call('ZRANGEBYSCORE', key, '-inf', t_arg, 'WITHSCORES')
  local t = tonumber(t_arg)
  local c1, c7, c28, w = 0, 0, 0, 0
  for i = 2, #r, 2 do
    local age = t - tonumber(r[i])
    if age < REPORT_DAY_MS then c1 = c1 + 1 end
    if age < 7 * REPORT_DAY_MS then c7 = c7 + 1 end
    if age < 28 * REPORT_DAY_MS then c28 = c28 + 1 end
    w = w + 2 ^ (-age / half_life_ms)
  end
  return c1, c7, c28, math.floor(w * 1000 + 0.5)
end
