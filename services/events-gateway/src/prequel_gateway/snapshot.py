"""The active operations, read from Redis at most once per interval per gateway process and shared by every
client's ``operation_status`` event (10,000 clients must not mean 10,000 reads every 5 seconds)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from prequel_common.models import Operation


class SharedSnapshot:
    def __init__(self, load: Callable[[], Awaitable[list[Operation]]], max_age_s: float) -> None:
        self._load = load
        self._max_age_s = max_age_s
        self._value: list[Operation] = []
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def get(self) -> list[Operation]:
        if time.monotonic() - self._loaded_at < self._max_age_s:
            return self._value
        async with self._lock:  # one read for everyone waiting
            if time.monotonic() - self._loaded_at >= self._max_age_s:
                self._value = await self._load()
                self._loaded_at = time.monotonic()
        return self._value
