--[[
  dead-letter-remove: takes entries off the dead-letter list, once each, and records why in the
  dead-letter audit list (redriven for another round of attempts, or cleared by an operator).
  The caller names the exact entries it read (their JSON), so an entry dead-lettered meanwhile
  stays listed; an entry another call removed first is skipped and not audited.

  KEYS[1] dead-letter list   KEYS[2] dead-letter audit list (newest first)

  ARGV[1] audit list cap   ARGV[2] action ('redrive' | 'clear')   ARGV[3] actor
  ARGV[4] time (ISO 8601)   ARGV[5..] entries, as stored

  Returns the number of entries removed.
]]
local cap = tonumber(ARGV[1])
local removed = 0
for i = 5, #ARGV do
  if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then
    removed = removed + 1
    local ok, entry = pcall(cjson.decode, ARGV[i])
    local eventId, target = cjson.null, cjson.null
    if ok and type(entry) == 'table' then
      eventId = entry.eventId or cjson.null
      target = entry.target or cjson.null
    end
    redis.call('LPUSH', KEYS[2], cjson.encode({ action = ARGV[2], actor = ARGV[3], at = ARGV[4], eventId = eventId, target = target }))
  end
end
if removed > 0 then redis.call('LTRIM', KEYS[2], 0, cap - 1) end
return removed
