"""The store facade: one Redis client, the repositories, and the multi-record writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from prequel_common.clock import iso
from prequel_common.models import Interview, Operation
from prequel_common.store.codec import encode
from prequel_common.store.keys import Keys
from prequel_common.store.logs import LogRepo
from prequel_common.store.records import InterviewRepo, OperationRepo
from prequel_common.store.scripts import load_script
from prequel_common.store.timers import Timer, TimerKind, TimerRepo


class Store:
    def __init__(self, redis: Redis, keys: Keys | None = None) -> None:
        self.redis = redis
        self._r: Any = redis  # redis-py's annotations do not follow decode_responses
        self.keys = keys or Keys()
        self.interviews = InterviewRepo(redis, self.keys)
        self.operations = OperationRepo(redis, self.keys)
        self.logs = LogRepo(redis, self.keys)
        self.timers = TimerRepo(redis, self.keys)
        self._claim_destroy = load_script(redis, "claim_destroy")
        self._extend = load_script(redis, "extend")

    async def create_interview(self, interview: Interview, create_op: Operation) -> None:
        """Write a new interview, its create operation and its timers in one transaction."""
        created = interview.created_at.timestamp()
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(self.keys.interview(interview.id), mapping=encode(interview))
        pipe.zadd(self.keys.interviews, {interview.id: created})
        pipe.hset(self.keys.operation(create_op.id), mapping=encode(create_op))
        pipe.zadd(self.keys.operations, {create_op.id: created})
        pipe.zadd(self.keys.interview_operations(interview.id), {create_op.id: created})
        pipe.sadd(self.keys.active_operations, create_op.id)
        timers = [Timer(TimerKind.DESTROY, interview.id, interview.auto_destroy_at)]
        if interview.scheduled_at is not None:
            timers.append(Timer(TimerKind.START, interview.id, interview.scheduled_at))
        pipe.zadd(self.keys.timers, {t.member: t.due.timestamp() for t in timers})
        await pipe.execute()

    async def claim_destroy(self, interview_id: str, operation_id: str) -> tuple[bool, str | None]:
        """Reserve the interview's one destroy operation. Returns (claimed, holder id)."""
        code, holder = await self._claim_destroy(
            keys=[self.keys.interview(interview_id)], args=[operation_id, self.keys.operation_prefix]
        )
        return code == 1, holder or None

    async def extend(self, interview: Interview, new_deadline: datetime, allowed: frozenset[str]) -> tuple[int, str]:
        """Move the auto-destroy of ``interview`` (as read) to ``new_deadline`` with its timer, atomically.
        Returns (1 done | 0 status not allowed | 2 changed meanwhile | -1 gone, current status)."""
        timer = Timer(TimerKind.DESTROY, interview.id, new_deadline)
        code, status = await self._extend(
            keys=[self.keys.interview(interview.id), self.keys.timers],
            args=[
                timer.member,
                iso(interview.auto_destroy_at),
                iso(new_deadline),
                new_deadline.timestamp(),
                "," + ",".join(sorted(allowed)) + ",",
            ],
        )
        return int(code), str(status)

    async def first_time(self, name: str, ttl_s: int = 24 * 3600) -> bool:
        """True for the first caller only (across replicas): for side effects that must not be repeated."""
        return bool(await self._r.set(f"{self.keys.prefix}:once:{name}", "1", nx=True, ex=ttl_s))

    @classmethod
    def from_url(cls, url: str, prefix: str = "prequel", max_connections: int = 64, retry_for_s: float = 30.0) -> Store:
        """A client whose requests queue for a pooled connection under bursts instead of failing, and ride over a
        Redis restart (a failover, an AOF reload) by retrying for up to about ``retry_for_s`` seconds."""
        retry = Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=max(1, int(retry_for_s)) + 5)
        pool = BlockingConnectionPool.from_url(
            url,
            decode_responses=True,
            max_connections=max_connections,
            timeout=20,
            retry=retry,
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
        return cls(Redis(connection_pool=pool), Keys(prefix))

    async def ping(self) -> bool:
        return bool(await self.redis.ping())
