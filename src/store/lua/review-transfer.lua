--[[
  review-transfer: an analyst decides a held transfer.

  HELD_FOR_REVIEW -> RELEASED | REJECTED (ARGV[6])
  A transfer already reviewed into that same state is a repeat: nothing changes.

  KEYS[1] lifecycle hash   KEYS[2] audit list   KEYS[3] outbox stream
  KEYS[4] payer guardian   hash: a REJECTED transfer ends unpaid, so what it added to a minor's
                           daily allowance is given back (guardian-refund.lua, prepended)

  ARGV[1] transfer id   ARGV[2] now ms   ARGV[3] now ISO   ARGV[4] actor (analyst)
  ARGV[5] reason   ARGV[6] RELEASED | REJECTED   ARGV[7] retention ms

  Returns {1, new state, event id} | {0, current state} | {-1, ''} | {-2, current state}
]]
local st = load(KEYS[1])
if not st then return {-1, ''} end
if st.state == ARGV[6] and st.reviewedAt then return {0, st.state} end
if st.state ~= 'HELD_FOR_REVIEW' then return {-2, st.state} end
rcall('HSET', KEYS[1], 'reviewedAt', ARGV[2])
if ARGV[6] == 'REJECTED' then refund_guardian_spend(KEYS[4], ARGV[1]) end
local verb = ARGV[6] == 'RELEASED' and 'released' or 'rejected'
local eventId = transition(KEYS[1], KEYS[2], KEYS[3], ARGV[1], st, ARGV[6], ARGV[2], ARGV[3], ARGV[4],
  verb .. ' by an analyst: ' .. ARGV[5], tonumber(ARGV[7]))
return {1, ARGV[6], eventId}
