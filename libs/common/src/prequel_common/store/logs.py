"""Operation logs: one Redis list per operation; a line's id is its index (monotonic, starts at 0)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from prequel_common.store.keys import Keys


class LogRepo:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis: Any = redis  # redis-py's annotations do not follow decode_responses
        self._keys = keys

    async def append(self, operation_id: str, lines: list[str]) -> int:
        """Append lines; returns the id of the first one."""
        if not lines:
            return int(await self._redis.llen(self._keys.logs(operation_id)))
        length = await self._redis.rpush(self._keys.logs(operation_id), *lines)
        return int(length) - len(lines)

    async def read(self, operation_id: str, after: int = -1) -> list[str]:
        """Lines with an id greater than ``after`` (all of them by default)."""
        return list(await self._redis.lrange(self._keys.logs(operation_id), after + 1, -1))
