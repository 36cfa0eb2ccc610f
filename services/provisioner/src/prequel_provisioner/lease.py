"""A worker's lease on the operation it runs: a Redis key holding the worker's id, with a time to live that the
worker's heartbeat renews. A live lease means a live worker; an expired one means that worker is gone, and only
then may another worker take the operation over (and clear what the dead one left, such as a state lock)."""

from __future__ import annotations

import uuid
from typing import Any

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Leases:
    def __init__(self, redis: Any, prefix: str, ttl_s: float) -> None:
        self._redis = redis
        self._prefix = prefix
        self.ttl_ms = int(ttl_s * 1000)
        self.worker_id = f"worker-{uuid.uuid4().hex[:12]}"
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def _key(self, operation_id: str) -> str:
        return f"{self._prefix}:lease:{operation_id}"

    async def acquire(self, operation_id: str) -> bool:
        """Take the lease; False while another live worker holds it."""
        return bool(await self._redis.set(self._key(operation_id), self.worker_id, nx=True, px=self.ttl_ms))

    async def holder(self, operation_id: str) -> str | None:
        value = await self._redis.get(self._key(operation_id))
        return None if value is None else str(value)

    async def renew(self, operation_id: str) -> bool:
        """Extend the lease; False when it was lost (expired and maybe taken by another worker)."""
        return bool(await self._renew(keys=[self._key(operation_id)], args=[self.worker_id, self.ttl_ms]))

    async def release(self, operation_id: str) -> None:
        await self._release(keys=[self._key(operation_id)], args=[self.worker_id])
