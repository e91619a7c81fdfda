--[[
  rules-pointer: raises the active rule version pointer (issue 7) and announces it. The pointer
  only moves forward: an announcement that arrives late (an older generation) changes nothing,
  so nodes announcing in any order leave the newest pointer. ARGV[4] = '1' overwrites even a
  higher generation (a pointer left over from another SQL store; the SQL store is the truth).

  The active version's rule files go to KEYS[2] in the same step, for processes without SQL
  (the standalone worker, src/rules/versions/rule-version-follower.ts): written whenever the pointer is
  written, and also when the pointer already holds exactly this version but the files key is
  missing or older (a pointer raised by a node of an older build, which wrote no files).

  KEYS[1] pointer (string `<generation>:<version id>`)
  KEYS[2] the active version's files (string, JSON `{generation, versionId, files: [{name, text}]}`)

  ARGV[1] generation   ARGV[2] version id   ARGV[3] pub/sub channel   ARGV[4] '1' to force
  ARGV[5] the files JSON for KEYS[2] (its generation and versionId equal ARGV[1] and ARGV[2])

  Returns 1 when the pointer was set (with the files, and published), 2 when only the files were
  stored (the pointer already had this version; published), 0 when nothing changed.
]]
local value = ARGV[1] .. ':' .. ARGV[2]
local current = redis.call('GET', KEYS[1])
if current and ARGV[4] ~= '1' then
  local g = tonumber(string.match(current, '^(%d+):'))
  if g and g >= tonumber(ARGV[1]) then
    if current ~= value then return 0 end
    local stored = redis.call('GET', KEYS[2])
    if stored then
      local ok, decoded = pcall(cjson.decode, stored)
      if ok and type(decoded) == 'table' and tonumber(decoded.generation) and tonumber(decoded.generation) >= g then
        return 0
      end
    end
    redis.call('SET', KEYS[2], ARGV[5])
    redis.call('PUBLISH', ARGV[3], value)
    return 2
  end
end
redis.call('SET', KEYS[1], value)
redis.call('SET', KEYS[2], ARGV[5])
redis.call('PUBLISH', ARGV[3], value)
return 1
