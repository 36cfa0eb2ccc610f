"""``Idempotency-Key`` on create: the same key from the same user within 24 h returns the first response."""

from __future__ import annotations

import hashlib
from typing import Any

from prequel_api.errors import ApiError

_PENDING = "pending"
TTL_S = 24 * 3600


class IdempotencyStore:
    def __init__(self, redis: Any, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, user: str, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{self._prefix}:idem:{user}:{digest}"

    async def begin(self, user: str, key: str) -> str | None:
        """Reserve the key; returns the stored response (JSON) of an earlier request with it, if any."""
        if not 1 <= len(key) <= 200:
            raise ApiError(400, "Idempotency-Key must be 1 to 200 characters")
        redis_key = self._key(user, key)
        if await self._redis.set(redis_key, _PENDING, nx=True, ex=TTL_S):
            return None
        stored = await self._redis.get(redis_key)
        if stored is None or stored == _PENDING:
            raise ApiError(409, "A request with this Idempotency-Key is still in progress; retry shortly")
        return str(stored)

    async def finish(self, user: str, key: str, response_json: str) -> None:
        await self._redis.set(self._key(user, key), response_json, ex=TTL_S)

    async def abandon(self, user: str, key: str) -> None:
        await self._redis.delete(self._key(user, key))
