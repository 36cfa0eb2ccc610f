"""Per-user rate limits shared by every api replica: fixed one-minute windows counted in Redis."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Depends, Request

from prequel_api.auth import current_user
from prequel_api.errors import ApiError


class RateLimiter:
    def __init__(self, redis: Any, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    async def hit(self, bucket: str, user: str, limit: int) -> None:
        """Count one request; raise 429 (with Retry-After) beyond ``limit`` in the current minute."""
        now = time.time()
        window = int(now // 60)
        key = f"{self._prefix}:rl:{bucket}:{user}:{window}"
        pipe = self._redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, 61)
        count, _ = await pipe.execute()
        if int(count) > limit:
            retry_after = max(1, int((window + 1) * 60 - now) + 1)
            raise ApiError(
                429,
                f"Rate limit exceeded: at most {limit} {bucket} per minute",
                headers={"Retry-After": str(retry_after)},
            )


async def limit_queries(request: Request, user: Annotated[str, Depends(current_user)]) -> str:
    svc = request.app.state.services
    await svc.limiter.hit("queries", user, svc.settings.rate_limit_queries_per_minute)
    return user
