"""Concurrent SSE streams per user, counted in Redis so every gateway replica shares the limit.

Each open stream holds a slot (a sorted-set member scored by its expiry). Slots are refreshed while the stream
lives and released when it ends; a gateway that dies leaves slots that expire on their own.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from starlette.responses import JSONResponse

from prequel_gateway.metrics import SSE_STREAMS_REFUSED
from prequel_gateway.params import error

_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class StreamSlots:
    def __init__(self, redis: Any, prefix: str, limit: int, ttl_s: float = 90.0) -> None:
        self._redis = redis
        self._prefix = prefix
        self._limit = limit
        self.ttl_s = ttl_s
        self._acquire = redis.register_script(_ACQUIRE)

    def _key(self, user: str) -> str:
        return f"{self._prefix}:sse:{user}"

    async def acquire(self, user: str) -> str | None:
        """A slot id, or None when the user already has ``limit`` streams open."""
        slot = uuid.uuid4().hex
        now = time.time()
        args = [now, now + self.ttl_s, self._limit, slot, int(self.ttl_s) + 1]
        return slot if await self._acquire(keys=[self._key(user)], args=args) == 1 else None

    async def acquire_or_refusal(self, user: str) -> str | JSONResponse:
        """A slot id, or the 429 answer (counted as a refused stream)."""
        slot = await self.acquire(user)
        if slot is None:
            SSE_STREAMS_REFUSED.labels(reason="too_many_streams").inc()
            message = f"Too many open event streams: at most {self._limit} per user"
            return error(429, message, **{"Retry-After": "5"})
        return slot

    async def refresh(self, user: str, slot: str) -> None:
        await self._redis.zadd(self._key(user), {slot: time.time() + self.ttl_s}, xx=True)

    async def release(self, user: str, slot: str) -> None:
        await self._redis.zrem(self._key(user), slot)
