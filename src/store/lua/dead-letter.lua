--[[
  dead-letter: records a delivery (webhook, voice warning, trusted-contact notice) that failed
  its last attempt. Once per delivery job: a worker that crashes after recording and retries
  the same final attempt does not record it twice.

  KEYS[1] dead-letter list   KEYS[2] marker of this delivery (string with a TTL)

  ARGV[1] entry JSON   ARGV[2] marker ttl ms

  Returns 1 when recorded, 0 when it was recorded before.
]]
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
return 1
