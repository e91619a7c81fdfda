--[[
  guardian-refund: gives back to a minor's daily allowance what a transfer added to it at score
  time when the transfer ends unpaid (issue 19): blocked by the rules or the model, cancelled,
  abandoned (a warning cancelled or never answered), or rejected in review. Exactly once:
  the transfer's spend record is marked as given back in the same atomic step.

  score-features.lua writes the record when a transfer within the limits adds to the day's
  spend: field `s:<transfer id>` = '<local date>,<thousandths>' of the payer's guardian hash
  (the payer's slot, beside the figure it corrects). A refund subtracts the amount from that
  date's `d:<date>` (an earlier day's figure for a transfer that ends unpaid after midnight;
  nothing when that day's field is gone) and appends ',r' to the record.

  keys.ts uses this file twice: as a script of its own (the decision write of a `block`,
  FeatureStore; and on a Redis Cluster the refund effect of a lifecycle transition,
  split-transitions.ts) and prepended to every lifecycle script: on one Redis the transitions
  that end a transfer unpaid (cancel-transfer, abandon-transfer, review-transfer) call
  refund_guardian_spend in the same atomic step as the transition (lifecycle-common.lua).

  As a script:
  KEYS[1] payer guardian  hash (keys.accountGuardian of the payer)
  ARGV[1] transfer id

  Returns 1 given back now, 0 given back before (nothing changes), -1 no spend recorded
  (no limits, over a limit, or the record was dropped with its day)
]]
local function refund_guardian_spend(guardianKey, transferId)
  local field = 's:' .. transferId
  local record = redis.call('HGET', guardianKey, field)
  if not record then return -1 end
  local day, amount, mark = string.match(record, '^([^,]+),(%d+)(,?r?)$')
  if not day or mark ~= '' then return 0 end
  redis.call('HSET', guardianKey, field, record .. ',r')
  local spent = tonumber(redis.call('HGET', guardianKey, 'd:' .. day))
  if spent then
    redis.call('HSET', guardianKey, 'd:' .. day, string.format('%.0f', math.max(0, spent - tonumber(amount))))
  end
  return 1
end
