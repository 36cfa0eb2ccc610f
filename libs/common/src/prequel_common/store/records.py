"""Interviews and operations in Redis; every status change goes through the atomic transition script."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic.alias_generators import to_camel
from redis.asyncio import Redis

from prequel_common.clock import iso
from prequel_common.models import Interview, Operation
from prequel_common.status import (
    INTERVIEW_FROM,
    OPERATION_ACTIVE,
    OPERATION_FROM,
    InterviewStatus,
    OperationStatus,
)
from prequel_common.store.codec import decode, encode, encode_fields
from prequel_common.store.keys import Keys
from prequel_common.store.scripts import load_script

R = TypeVar("R", Interview, Operation)


@dataclass(frozen=True)
class Transition(Generic[R]):
    """What a transition did: ``changed`` false means refused, or already there (``already``)."""

    changed: bool
    already: bool
    previous: str | None
    record: R | None


class _Repo(Generic[R]):
    model: type[R]

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis: Any = redis  # redis-py's annotations do not follow decode_responses
        self._keys = keys
        self._transition = load_script(redis, "transition")

    def _key(self, record_id: str) -> str:
        raise NotImplementedError

    async def get(self, record_id: str) -> R | None:
        return decode(self.model, await self._redis.hgetall(self._key(record_id)))

    async def get_many(self, ids: Iterable[str]) -> list[R]:
        pipe = self._redis.pipeline(transaction=False)
        for record_id in ids:
            pipe.hgetall(self._key(record_id))
        rows = await pipe.execute()
        return [record for row in rows if (record := decode(self.model, row)) is not None]

    async def _move(
        self,
        record_id: str,
        target: str,
        allowed: Iterable[str],
        active_key: str,
        is_active: bool,
        fields: dict[str, object],
    ) -> Transition[R]:
        allowed_csv = "," + ",".join(allowed) + ","
        code, previous = await self._transition(
            keys=[self._key(record_id), active_key],
            args=[record_id, target, allowed_csv, "1" if is_active else "0", *encode_fields(fields)],
        )
        previous_str = previous.decode() if isinstance(previous, bytes) else previous
        return Transition(
            changed=code == 1,
            already=code == 2,
            previous=previous_str or None,
            record=await self.get(record_id) if code != -1 else None,
        )


class InterviewRepo(_Repo[Interview]):
    model = Interview

    def _key(self, record_id: str) -> str:
        return self._keys.interview(record_id)

    async def list_all(self) -> list[Interview]:
        ids = await self._redis.zrevrange(self._keys.interviews, 0, -1)
        return await self.get_many(ids)

    async def transition(self, interview_id: str, target: InterviewStatus, **fields: object) -> Transition[Interview]:
        allowed = sorted(INTERVIEW_FROM.get(target, frozenset()))
        return await self._move(interview_id, target, allowed, "", False, _camel(fields))


class OperationRepo(_Repo[Operation]):
    model = Operation

    def _key(self, record_id: str) -> str:
        return self._keys.operation(record_id)

    async def list_all(self, interview_id: str | None = None) -> list[Operation]:
        index = self._keys.interview_operations(interview_id) if interview_id else self._keys.operations
        ids = await self._redis.zrevrange(index, 0, -1)
        return await self.get_many(ids)

    async def list_active(self) -> list[Operation]:
        ids = sorted(await self._redis.smembers(self._keys.active_operations))
        return await self.get_many(ids)

    async def add(self, operation: Operation) -> bool:
        """Store a new operation; False when one with this id exists already (idempotent)."""
        key = self._key(operation.id)
        if not await self._redis.hsetnx(key, "id", operation.id):
            return False
        score = operation.created_at.timestamp()
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(key, mapping=encode(operation))
        pipe.zadd(self._keys.operations, {operation.id: score})
        pipe.zadd(self._keys.interview_operations(operation.interview_id), {operation.id: score})
        if operation.status in OPERATION_ACTIVE:
            pipe.sadd(self._keys.active_operations, operation.id)
        await pipe.execute()
        return True

    async def transition(
        self,
        operation_id: str,
        target: OperationStatus,
        *,
        only_from: frozenset[OperationStatus] | None = None,
        **fields: object,
    ) -> Transition[Operation]:
        """Move to ``target`` if the state machine allows it (and, with ``only_from``, only from those statuses)."""
        allowed = sorted(OPERATION_FROM.get(target, frozenset()) & (only_from or frozenset(OperationStatus)))
        return await self._move(
            operation_id, target, allowed, self._keys.active_operations, target in OPERATION_ACTIVE, _camel(fields)
        )

    async def touch(self, operation_id: str, at: datetime) -> None:
        """Record a worker's heartbeat on a running operation."""
        key = self._key(operation_id)
        if await self._redis.exists(key):
            await self._redis.hset(key, "heartbeatAt", iso(at))

    async def request_cancel(self, operation_id: str, reason: str) -> None:
        await self._redis.set(self._keys.cancel(operation_id), reason, ex=7 * 24 * 3600)

    async def cancel_reason(self, operation_id: str) -> str | None:
        value = await self._redis.get(self._keys.cancel(operation_id))
        return value.decode() if isinstance(value, bytes) else value


def _camel(fields: dict[str, object]) -> dict[str, object]:
    return {to_camel(k): v for k, v in fields.items()}
