-- Move an interview's auto-destroy later, atomically with its timer.
-- KEYS[1] interview hash, KEYS[2] timers sorted set
-- ARGV[1] timer member, ARGV[2] expected current autoDestroyAt (compare-and-set), ARGV[3] new autoDestroyAt (ISO),
-- ARGV[4] new due (epoch seconds), ARGV[5] ",allowed,statuses,"
-- Returns {code, status}: 1 done, 0 status not allowed, 2 autoDestroyAt changed meanwhile, -1 no interview.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return {-1, ''}
end
if not string.find(ARGV[5], ',' .. status .. ',', 1, true) then
  return {0, status}
end
if redis.call('HGET', KEYS[1], 'autoDestroyAt') ~= ARGV[2] then
  return {2, status}
end
redis.call('HSET', KEYS[1], 'autoDestroyAt', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return {1, status}
