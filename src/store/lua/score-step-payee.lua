--[[
  score-step-payee: the payee's step of the split score (issue 15, docs/cluster-keys.md), in the
  payee's slot `{a:<payee>}`: the payee's windows received, its sent sums (read only), distinct
  and new payers, report flags, and the payer -> payee pair, which lives here (`pairin`) so that
  "first time this payer pays this payee" and the new-payer set are decided in one slot.
  keys.ts prepends score-step-common.lua (markers, ARGV[1..7], replies) and score-windows.lua
  (ARGV[8..20]).

  KEYS[1] payee in        hash    windows of amounts received
  KEYS[2] payee out       hash    windows of amounts sent (read only, but for folding the
                                  earlier layout)
  KEYS[3] payee payers    zset    payer -> ms of last transfer (24h fan-in)
  KEYS[4] payee new       zset    payer -> ms of first transfer to this payee (24h)
  KEYS[5] payee reports   hash    count, reporters, last (ms) -- written by the case library
  KEYS[6] pair            string  '{a:<payee>}:pairin:<payer>' = '<ms first paid>,<times paid>'
                                  (score-features.lua's `{a:<payer>}:pair:<payee>`, moved)
  KEYS[7] marker          string  '{a:<payee>}:s:<transfer id>'
  KEYS[8] report times    zset    case id -> reported at (ms) -- written by the case library
                                  (report-age.lua, prepended by keys.ts, reads it)

  ARGV[21] pair ttl ms   ARGV[22] payer id   ARGV[23] report half-life ms

  The reply string: 'c1,s1,..,c4,s4 of the payee's in windows (8), payee out sum 1h, 24h,
  distinct payers 24h, new payers 24h, report count, distinct reporters, last report ms or -1,
  pair count, pair first ms or -1, reports of the last 1d, 7d, 28d, decayed report count in
  thousandths' (21 integers; the last 4 as score-features.lua's aged reports).
]]

local settled = step_marker(KEYS[7])
if settled then return settled end

local t = tonumber(ARGV[1])

local payee_set, _, payee_moved_24h, payee_moved_30d = window_add(KEYS[1], 'last')
write_windows(KEYS[1], payee_set, payee_moved_30d)
window_read_sums(KEYS[2])
out[#out + 1] = distinct_24h(KEYS[3], ARGV[22], payee_moved_24h)

-- the pair: a first transfer writes '<t>,1' in the call that finds it absent (SET NX GET)
local pair = redis.call('SET', KEYS[6], ARGV[1] .. ',1', 'NX', 'GET', 'PX', ARGV[21])
local first, paid = nil, 0
if pair then
  local f, c = string.match(pair, '^(%d+),(%d+)$')
  first, paid = tonumber(f), tonumber(c)
  if t < first then f = ARGV[1] end
  redis.call('SET', KEYS[6], f .. ',' .. string.format('%d', paid + 1), 'PX', ARGV[21])
end
out[#out + 1] = distinct_24h(KEYS[4], first == nil and ARGV[22], payee_moved_24h or first == nil)

local rep = redis.call('HMGET', KEYS[5], 'count', 'reporters', 'last')
out[#out + 1] = tonumber(rep[1]) or 0
out[#out + 1] = tonumber(rep[2]) or 0
out[#out + 1] = tonumber(rep[3]) or -1
out[#out + 1] = paid
out[#out + 1] = first or -1
local rep_1d, rep_7d, rep_28d, rep_decayed = 0, 0, 0, 0
if rep[1] then rep_1d, rep_7d, rep_28d, rep_decayed = report_age(KEYS[8], ARGV[1], tonumber(ARGV[23])) end
out[#out + 1] = rep_1d
out[#out + 1] = rep_7d
out[#out + 1] = rep_28d
out[#out + 1] = rep_decayed
return step_done(KEYS[7])
