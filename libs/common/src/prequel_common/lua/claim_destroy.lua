-- One destroy operation per interview: claim the slot unless a live or finished one holds it.
-- KEYS[1] interview hash; ARGV[1] candidate operation id; ARGV[2] operation key prefix
-- Returns {1, new id} when claimed, {0, holder id} when another destroy holds it, {-1, ''} for no interview.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1, ''}
end
local holder = redis.call('HGET', KEYS[1], 'destroyOperationId')
if holder and holder ~= ARGV[1] then
  local status = redis.call('HGET', ARGV[2] .. holder, 'status')
  -- a failed or cancelled destroy may be retried; anything else keeps the slot
  if status ~= 'failed' and status ~= 'cancelled' then
    return {0, holder}
  end
end
redis.call('HSET', KEYS[1], 'destroyOperationId', ARGV[1])
return {1, ARGV[1]}
