-- Atomic status transition of one record (interview or operation).
-- KEYS[1] record hash, KEYS[2] set of active records (or "" for none)
-- ARGV[1] record id, ARGV[2] target status, ARGV[3] ",allowed,current,statuses,"
-- ARGV[4] "1" when the target status is active (keeps KEYS[2] in step), ARGV[5..] field/value pairs ("" deletes)
-- Returns {code, previous status}: 1 changed, 0 refused, 2 already in the target status, -1 no such record.
local current = redis.call('HGET', KEYS[1], 'status')
if not current then
  return {-1, ''}
end
if current == ARGV[2] then
  return {2, current}
end
if not string.find(ARGV[3], ',' .. current .. ',', 1, true) then
  return {0, current}
end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
for i = 5, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
if KEYS[2] ~= '' then
  if ARGV[4] == '1' then
    redis.call('SADD', KEYS[2], ARGV[1])
  else
    redis.call('SREM', KEYS[2], ARGV[1])
  end
end
return {1, current}
