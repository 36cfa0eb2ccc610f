-- One destroy operation per interview: claim the slot unless a pending or running one holds it.
-- KEYS[1] interview hash; ARGV[1] candidate operation id; ARGV[2] operation key prefix
-- Returns {1, new id} when claimed; {0, holder id} when another destroy holds it, or when the interview is
-- destroyed already (then the id of its last operation: its destroy, or the create whose cancel ended it);
-- {-1, ''} for no interview.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return {-1, ''}
end
local holder = redis.call('HGET', KEYS[1], 'destroyOperationId')
if status == 'destroyed' then
  -- final: nothing is left to destroy, whatever ended it (a cancelled scheduled create leaves no destroy at all).
  -- The interview's operations index is the hash's key + ':operations' (see store/keys.py).
  local last = redis.call('ZREVRANGE', KEYS[1] .. ':operations', 0, 0)[1]
  return {0, last or holder or redis.call('HGET', KEYS[1], 'createOperationId') or ''}
end
if holder and holder ~= ARGV[1] then
  local held = redis.call('HGET', ARGV[2] .. holder, 'status')
  -- a destroy that ended (failed, cancelled, or completed without the interview being destroyed) may be retried;
  -- a pending or running one keeps the slot, and so does a claimed one not recorded yet (no status)
  if held ~= 'failed' and held ~= 'cancelled' and held ~= 'completed' then
    return {0, holder}
  end
end
redis.call('HSET', KEYS[1], 'destroyOperationId', ARGV[1])
return {1, ARGV[1]}
