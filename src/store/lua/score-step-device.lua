--[[
  score-step-device: the device's step of the split score (issue 15, docs/cluster-keys.md), in
  the device's slot `{d:<device>}`: the payers seen on the device in 24h, read before this
  transfer and then recorded (the set is shared by payers, so it is maintained on every call).
  Not sent for a transfer without a device. keys.ts prepends score-step-common.lua (markers,
  ARGV[1..7], replies).

  KEYS[1] device payers   zset    payer -> ms of last transfer
  KEYS[2] marker          string  '{d:<device>}:s:<transfer id>'

  ARGV[8] payer id

  The reply string: 'distinct payers 24h' (1 integer).
]]

local settled = step_marker(KEYS[2])
if settled then return settled end
out[1] = distinct_24h(KEYS[1], ARGV[8], true)
return step_done(KEYS[2])
