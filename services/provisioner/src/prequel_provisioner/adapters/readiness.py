"""Wait until the IDE answers HTTP on its access URL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx


class NotReady(Exception):
    pass


async def wait_until_ready(
    url: str,
    timeout_s: float,
    should_stop: Callable[[], Awaitable[bool]],
    first_interval_s: float = 0.05,
    max_interval_s: float = 1.0,
) -> float:
    """Poll until any HTTP answer below 500 comes back; returns the seconds waited. Raises NotReady.

    Polls often at first (a local IDE answers within seconds, and every tenth of a second of polling slack is the
    candidate's wait), then less and less often (an ECS task takes minutes; no need to hammer the ALB)."""
    interval_s = first_interval_s
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
        while True:
            try:
                response = await client.get(url)
                if response.status_code < 500:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            if await should_stop():
                raise NotReady("stopped while waiting for the IDE")
            if time.monotonic() - started > timeout_s:
                raise NotReady(f"the IDE did not answer at {url} within {timeout_s:.0f}s")
            await asyncio.sleep(interval_s)
            interval_s = min(max_interval_s, interval_s * 1.1)
