"""The Redis store against a real Redis: records, atomic transitions, the destroy claim, logs and timers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from prequel_common.ids import new_interview_id, new_operation_id
from prequel_common.models import Interview, Operation, OperationResult
from prequel_common.status import InterviewStatus, OperationStatus, OperationType
from prequel_common.store import Store, Timer, TimerKind


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def make_records(
    *,
    status: InterviewStatus = InterviewStatus.INITIALIZING,
    scheduled_at: datetime | None = None,
    created_at: datetime | None = None,
    name: str = "Jane Smith",
) -> tuple[Interview, Operation]:
    created = created_at or _now()
    start = scheduled_at or created
    interview = Interview(
        id=new_interview_id(),
        candidate_name=name,
        challenge="python",
        status=status,
        password="s3cretpassw0rd12",
        created_at=created,
        scheduled_at=scheduled_at,
        auto_destroy_at=start + timedelta(minutes=60),
        auto_destroy_minutes=60,
        created_by="tester",
        create_operation_id=new_operation_id(),
    )
    operation = Operation(
        id=interview.create_operation_id or "",
        type=OperationType.CREATE,
        status=OperationStatus.PENDING,
        interview_id=interview.id,
        candidate_name=interview.candidate_name,
        challenge=interview.challenge,
        created_at=created,
        scheduled_at=scheduled_at,
        auto_destroy_at=interview.auto_destroy_at,
        created_by="tester",
    )
    return interview, operation


def destroy_op(interview: Interview, op_id: str | None = None) -> Operation:
    return Operation(
        id=op_id or new_operation_id(),
        type=OperationType.DESTROY,
        status=OperationStatus.PENDING,
        interview_id=interview.id,
        candidate_name=interview.candidate_name,
        challenge=interview.challenge,
        created_at=_now(),
    )


async def test_create_interview_then_read_it_back(store: Store) -> None:
    interview, operation = make_records()
    await store.create_interview(interview, operation)

    assert await store.interviews.get(interview.id) == interview
    assert await store.operations.get(operation.id) == operation
    assert await store.interviews.get("int-missing") is None
    assert await store.operations.get("op-missing") is None


async def test_list_all_is_newest_first(store: Store) -> None:
    base = _now()
    older, older_op = make_records(created_at=base - timedelta(minutes=5), name="Older")
    newer, newer_op = make_records(created_at=base, name="Newer")
    await store.create_interview(older, older_op)
    await store.create_interview(newer, newer_op)

    assert [i.id for i in await store.interviews.list_all()] == [newer.id, older.id]
    assert [o.id for o in await store.operations.list_all()] == [newer_op.id, older_op.id]
    assert [o.id for o in await store.operations.list_all(older.id)] == [older_op.id]
    assert await store.operations.list_all("int-nobody") == []


async def test_list_active_follows_operation_transitions(store: Store) -> None:
    interview, operation = make_records()
    await store.create_interview(interview, operation)
    extra = destroy_op(interview)
    assert await store.operations.add(extra) is True
    assert await store.operations.add(extra) is False  # idempotent

    assert {o.id for o in await store.operations.list_active()} == {operation.id, extra.id}
    assert {o.id for o in await store.operations.list_all(interview.id)} == {operation.id, extra.id}

    running = await store.operations.transition(operation.id, OperationStatus.RUNNING, started_at=_now())
    assert running.changed
    assert {o.id for o in await store.operations.list_active()} == {operation.id, extra.id}

    done = await store.operations.transition(
        operation.id,
        OperationStatus.COMPLETED,
        completed_at=_now(),
        result=OperationResult(success=True, access_url="https://x.example"),
    )
    assert done.changed
    assert done.record is not None
    assert done.record.status == OperationStatus.COMPLETED
    assert done.record.result == OperationResult(success=True, access_url="https://x.example")
    assert [o.id for o in await store.operations.list_active()] == [extra.id]

    cancelled = await store.operations.transition(extra.id, OperationStatus.CANCELLED)
    assert cancelled.changed
    assert await store.operations.list_active() == []

    # a refused transition does not put a finished operation back in the active set
    refused = await store.operations.transition(extra.id, OperationStatus.RUNNING)
    assert not refused.changed
    assert not refused.already
    assert refused.previous == OperationStatus.CANCELLED
    assert await store.operations.list_active() == []


async def test_transition_refuses_a_backwards_move(store: Store) -> None:
    interview, operation = make_records(status=InterviewStatus.DESTROYED)
    await store.create_interview(interview, operation)

    result = await store.interviews.transition(interview.id, InterviewStatus.ACTIVE, access_url="https://late.example")

    assert result.changed is False
    assert result.already is False
    assert result.previous == InterviewStatus.DESTROYED
    assert await store.interviews.get(interview.id) == interview  # status and fields untouched


async def test_transition_reports_already_for_a_repeat(store: Store) -> None:
    interview, operation = make_records()
    await store.create_interview(interview, operation)

    first = await store.interviews.transition(interview.id, InterviewStatus.CONFIGURING)
    second = await store.interviews.transition(interview.id, InterviewStatus.CONFIGURING)

    assert (first.changed, first.already, first.previous) == (True, False, InterviewStatus.INITIALIZING)
    assert (second.changed, second.already, second.previous) == (False, True, InterviewStatus.CONFIGURING)
    assert second.record is not None
    assert second.record.status == InterviewStatus.CONFIGURING


async def test_transition_of_a_missing_record(store: Store) -> None:
    result = await store.interviews.transition("int-missing", InterviewStatus.CONFIGURING)
    assert (result.changed, result.already, result.record) == (False, False, None)


async def test_concurrent_transitions_change_exactly_once(store: Store) -> None:
    interview, operation = make_records()
    await store.create_interview(interview, operation)

    results = await asyncio.gather(
        *(store.interviews.transition(interview.id, InterviewStatus.CONFIGURING) for _ in range(20))
    )

    assert sum(r.changed for r in results) == 1
    assert sum(r.already for r in results) == 19
    stored = await store.interviews.get(interview.id)
    assert stored is not None
    assert stored.status == InterviewStatus.CONFIGURING


async def test_transition_fields_are_stored_and_none_deletes(store: Store) -> None:
    interview, operation = make_records()
    await store.create_interview(interview, operation)
    await store.interviews.transition(interview.id, InterviewStatus.CONFIGURING)

    active = await store.interviews.transition(interview.id, InterviewStatus.ACTIVE, access_url="https://ide.example/x")
    assert active.changed
    stored = await store.interviews.get(interview.id)
    assert stored is not None
    assert stored.access_url == "https://ide.example/x"
    assert stored.status == InterviewStatus.ACTIVE

    gone = await store.interviews.transition(interview.id, InterviewStatus.DESTROYING, access_url=None)
    assert gone.changed
    stored = await store.interviews.get(interview.id)
    assert stored is not None
    assert stored.access_url is None
    assert "accessUrl" not in await store.redis.hgetall(store.keys.interview(interview.id))
    assert stored.password == interview.password  # other fields kept


async def test_claim_destroy_gives_the_slot_once(store: Store) -> None:
    interview, operation = make_records(status=InterviewStatus.ACTIVE)
    await store.create_interview(interview, operation)

    first = destroy_op(interview)
    assert await store.claim_destroy(interview.id, first.id) == (True, first.id)
    await store.operations.add(first)
    assert await store.claim_destroy(interview.id, first.id) == (True, first.id)  # the holder may claim again
    assert await store.claim_destroy(interview.id, "op-other") == (False, first.id)

    stored = await store.interviews.get(interview.id)
    assert stored is not None
    assert stored.destroy_operation_id == first.id


async def test_claim_destroy_of_a_missing_interview(store: Store) -> None:
    claimed, _holder = await store.claim_destroy("int-missing", "op-x")
    assert claimed is False


async def test_a_failed_destroy_can_be_replaced(store: Store) -> None:
    interview, operation = make_records(status=InterviewStatus.ACTIVE)
    await store.create_interview(interview, operation)
    first = destroy_op(interview)
    await store.operations.add(first)
    assert (await store.claim_destroy(interview.id, first.id))[0]

    await store.operations.transition(first.id, OperationStatus.RUNNING)
    assert await store.claim_destroy(interview.id, "op-second") == (False, first.id)  # running keeps the slot
    await store.operations.transition(first.id, OperationStatus.FAILED)

    assert await store.claim_destroy(interview.id, "op-second") == (True, "op-second")
    assert await store.claim_destroy(interview.id, "op-third") == (False, "op-second")


async def test_logs_append_and_read_after(store: Store) -> None:
    op_id = new_operation_id()
    assert await store.logs.append(op_id, []) == 0
    assert await store.logs.append(op_id, ["a", "b"]) == 0
    assert await store.logs.append(op_id, ["c"]) == 2
    assert await store.logs.append(op_id, ["d", "e", "f"]) == 3
    assert await store.logs.append(op_id, []) == 6

    assert await store.logs.read(op_id) == ["a", "b", "c", "d", "e", "f"]
    assert await store.logs.read(op_id, after=2) == ["d", "e", "f"]
    assert await store.logs.read(op_id, after=5) == []
    assert await store.logs.read("op-none") == []


async def test_create_interview_writes_a_destroy_timer(store: Store) -> None:
    interview, operation = make_records()
    await store.create_interview(interview, operation)

    destroy = await store.timers.get(TimerKind.DESTROY, interview.id)
    assert destroy == Timer(TimerKind.DESTROY, interview.id, interview.auto_destroy_at)
    assert await store.timers.get(TimerKind.START, interview.id) is None


async def test_create_interview_writes_a_start_timer_when_scheduled(store: Store) -> None:
    start = _now() + timedelta(hours=2)
    interview, operation = make_records(status=InterviewStatus.SCHEDULED, scheduled_at=start)
    await store.create_interview(interview, operation)

    assert await store.timers.get(TimerKind.START, interview.id) == Timer(TimerKind.START, interview.id, start)
    assert await store.timers.get(TimerKind.DESTROY, interview.id) == Timer(
        TimerKind.DESTROY, interview.id, start + timedelta(minutes=60)
    )
    assert await store.timers.next_due() == start


async def test_timers_due_and_remove(store: Store) -> None:
    now = _now()
    past = Timer(TimerKind.START, "int-past", now - timedelta(seconds=5))
    exact = Timer(TimerKind.DESTROY, "int-past", now)
    future = Timer(TimerKind.DESTROY, "int-future", now + timedelta(minutes=1))
    for timer in (future, past, exact):
        await store.timers.set(timer)

    assert await store.timers.due(now) == [past, exact]
    assert await store.timers.due(now - timedelta(minutes=1)) == []

    await store.timers.remove(past)
    assert await store.timers.due(now) == [exact]
    assert await store.timers.get(TimerKind.START, "int-past") is None

    await store.timers.remove_all("int-past")
    assert await store.timers.due(now + timedelta(minutes=2)) == [future]
