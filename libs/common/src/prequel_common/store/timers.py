"""Due times of scheduled starts and auto-destroys: a Redis sorted set scored by epoch seconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from prequel_common.store.keys import Keys


class TimerKind(StrEnum):
    START = "start"
    DESTROY = "destroy"


@dataclass(frozen=True)
class Timer:
    kind: TimerKind
    interview_id: str
    due: datetime

    @property
    def member(self) -> str:
        return f"{self.kind}:{self.interview_id}"


class TimerRepo:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis: Any = redis  # redis-py's annotations do not follow decode_responses
        self._keys = keys

    async def set(self, timer: Timer) -> None:
        await self._redis.zadd(self._keys.timers, {timer.member: timer.due.timestamp()})

    async def due(self, now: datetime, limit: int = 100) -> list[Timer]:
        rows = await self._redis.zrangebyscore(
            self._keys.timers, "-inf", now.timestamp(), start=0, num=limit, withscores=True
        )
        return [_timer(member, score) for member, score in rows]

    async def next_due(self) -> datetime | None:
        rows = await self._redis.zrange(self._keys.timers, 0, 0, withscores=True)
        return datetime.fromtimestamp(rows[0][1], UTC) if rows else None

    async def remove(self, timer: Timer) -> None:
        await self._redis.zrem(self._keys.timers, timer.member)

    async def remove_all(self, interview_id: str) -> None:
        await self._redis.zrem(self._keys.timers, *(f"{kind}:{interview_id}" for kind in TimerKind))

    async def get(self, kind: TimerKind, interview_id: str) -> Timer | None:
        score = await self._redis.zscore(self._keys.timers, f"{kind}:{interview_id}")
        return None if score is None else Timer(kind, interview_id, datetime.fromtimestamp(score, UTC))


def _timer(member: str, score: float) -> Timer:
    kind, interview_id = member.split(":", 1)
    return Timer(TimerKind(kind), interview_id, datetime.fromtimestamp(score, UTC))
