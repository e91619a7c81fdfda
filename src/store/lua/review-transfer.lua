--[[
  review-transfer: an analyst decides a held transfer.

  HELD_FOR_REVIEW -> RELEASED | REJECTED (ARGV[6])
  A transfer already reviewed into that same state is a repeat: nothing changes.

  One Redis:
  KEYS[1] lifecycle hash   KEYS[2] audit list   KEYS[3] outbox stream
  KEYS[4] payer guardian   hash: a REJECTED transfer ends unpaid, so what it added to a minor's
                           daily allowance is given back (guardian-refund.lua, prepended)
  A cluster (lifecycle-common.lua): KEYS[1] lifecycle hash, KEYS[2] audit list, KEYS[3] effects
  hash; the refund is an effect, applied in the payer's slot.

  ARGV[1] transfer id   ARGV[2] now ms   ARGV[3] now ISO   ARGV[4] actor (analyst)
  ARGV[5] reason   ARGV[6] RELEASED | REJECTED   ARGV[7] retention ms

  Returns {1, new state, event id} | {0, current state} | {-1, ''} | {-2, current state};
  a cluster adds {effects}
]]
local K = lifecycle_keys({'state', 'audit', 'events', 'guardian'})
local st = load(K.state)
if not st then return finish(K, {-1, ''}, nil, false) end
if st.state == ARGV[6] and st.reviewedAt then return finish(K, {0, st.state}, nil, false) end
if st.state ~= 'HELD_FOR_REVIEW' then return finish(K, {-2, st.state}, nil, false) end
rcall('HSET', K.state, 'reviewedAt', ARGV[2])
local fx = effects(ARGV[1], st)
if ARGV[6] == 'REJECTED' then fx.refund = 1 end
local verb = ARGV[6] == 'RELEASED' and 'released' or 'rejected'
local eventId = transition(K, ARGV[1], st, ARGV[6], ARGV[2], ARGV[3], ARGV[4],
  verb .. ' by an analyst: ' .. ARGV[5], tonumber(ARGV[7]), fx)
return finish(K, {1, ARGV[6], eventId}, fx, true)
