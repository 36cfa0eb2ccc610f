"""The scheduler's tick against real Redis and NATS: scheduled starts and auto-destroys, once even on two replicas."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from prequel_common.bus import CommandPublisher, EventPublisher
from prequel_common.ids import derived_operation_id, new_interview_id, new_operation_id
from prequel_common.models import Interview, Operation
from prequel_common.recorder import Recorder
from prequel_common.status import InterviewStatus, OperationStatus, OperationType
from prequel_common.store import Store, Timer, TimerKind
from prequel_common.subjects import COMMANDS_STREAM, EVENTS_STREAM, scheduler_event_subject
from prequel_scheduler.app import tick


@pytest.fixture
def recorder(store: Store, js: JetStreamContext) -> Recorder:
    return Recorder(store, EventPublisher(js))


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def add_interview(
    store: Store, *, status: InterviewStatus, scheduled_at: datetime | None, minutes: int = 60
) -> tuple[Interview, Operation]:
    created = now() - timedelta(minutes=10)
    start = scheduled_at or created
    interview = Interview(
        id=new_interview_id(),
        candidate_name="Alan Turing",
        challenge="python",
        status=status,
        password="pw0123456789abcd",
        created_at=created,
        scheduled_at=scheduled_at,
        auto_destroy_at=start + timedelta(minutes=minutes),
        auto_destroy_minutes=minutes,
        created_by="tester",
        create_operation_id=new_operation_id(),
    )
    create = Operation(
        id=interview.create_operation_id or "",
        type=OperationType.CREATE,
        status=OperationStatus.PENDING if status == InterviewStatus.SCHEDULED else OperationStatus.COMPLETED,
        interview_id=interview.id,
        candidate_name=interview.candidate_name,
        challenge=interview.challenge,
        created_at=created,
        scheduled_at=scheduled_at,
        auto_destroy_at=interview.auto_destroy_at,
    )
    await store.create_interview(interview, create)
    return interview, create


async def stream(js: JetStreamContext, name: str, subject_prefix: str) -> list[dict[str, Any]]:
    """Every message of a stream whose subject starts with ``subject_prefix``, read by sequence (nothing consumed)."""
    state = (await js.stream_info(name)).state
    bodies = []
    for seq in range(state.first_seq, state.last_seq + 1) if state.messages else ():
        try:
            msg = await js.get_msg(name, seq)
        except NotFoundError:  # removed by the purge or a work-queue ack
            continue
        if (msg.subject or "").startswith(subject_prefix):
            bodies.append(json.loads(msg.data or b""))
    return bodies


async def commands_in_stream(js: JetStreamContext) -> int:
    return int((await js.stream_info(COMMANDS_STREAM)).state.messages)


async def test_a_due_start_timer_starts_the_interview_once(recorder: Recorder, js: JetStreamContext) -> None:
    store = recorder.store
    interview, create = await add_interview(
        store, status=InterviewStatus.SCHEDULED, scheduled_at=now() - timedelta(seconds=2)
    )

    assert await tick(recorder, CommandPublisher(js)) == 1

    cmds = await stream(js, COMMANDS_STREAM, "prequel.cmd.")
    assert [(c["type"], c["operationId"], c["interviewId"]) for c in cmds] == [("create", create.id, interview.id)]
    events = await stream(js, EVENTS_STREAM, scheduler_event_subject(interview.id))
    assert [e["event"] for e in events] == [
        {"type": "scheduled_start", "operationId": create.id, "interviewId": interview.id}
    ]
    assert events[0]["type"] == "scheduler_event"
    assert await store.timers.get(TimerKind.START, interview.id) is None
    assert await store.timers.get(TimerKind.DESTROY, interview.id) is not None  # the auto-destroy stays
    assert any("Scheduled start time reached" in line for line in await store.logs.read(create.id))

    # the timer is gone: the next tick does nothing
    assert await tick(recorder, CommandPublisher(js)) == 0
    assert await commands_in_stream(js) == 1


async def test_a_start_timer_not_yet_due_does_nothing(recorder: Recorder, js: JetStreamContext) -> None:
    store = recorder.store
    start = now() + timedelta(minutes=5)
    interview, create = await add_interview(store, status=InterviewStatus.SCHEDULED, scheduled_at=start)

    assert await tick(recorder, CommandPublisher(js)) == 0

    assert await commands_in_stream(js) == 0
    assert await stream(js, EVENTS_STREAM, "prequel.evt.") == []
    assert await store.timers.get(TimerKind.START, interview.id) == Timer(TimerKind.START, interview.id, start)
    stored = await store.operations.get(create.id)
    assert stored is not None
    assert stored.status == OperationStatus.PENDING


async def test_two_replicas_ticking_at_once_send_one_command(store: Store, js: JetStreamContext) -> None:
    interview, _create = await add_interview(
        store, status=InterviewStatus.SCHEDULED, scheduled_at=now() - timedelta(seconds=1)
    )
    replica_a = (Recorder(store, EventPublisher(js)), CommandPublisher(js))
    replica_b = (Recorder(store, EventPublisher(js)), CommandPublisher(js))

    fired = await asyncio.gather(tick(*replica_a), tick(*replica_b))

    assert sum(fired) >= 1  # usually both replicas fire the timer: JetStream's dedupe keeps one command
    assert await commands_in_stream(js) == 1
    events = await stream(js, EVENTS_STREAM, scheduler_event_subject(interview.id))
    assert len(events) == 1
    assert await store.timers.get(TimerKind.START, interview.id) is None


async def test_a_due_destroy_timer_requests_the_destroy(recorder: Recorder, js: JetStreamContext) -> None:
    store = recorder.store
    interview, _create = await add_interview(store, status=InterviewStatus.ACTIVE, scheduled_at=None, minutes=30)
    await store.timers.set(Timer(TimerKind.DESTROY, interview.id, now() - timedelta(seconds=1)))
    expected_id = derived_operation_id("auto-destroy", interview.id)

    assert await tick(recorder, CommandPublisher(js)) == 1

    destroy = await store.operations.get(expected_id)
    assert destroy is not None
    assert (destroy.type, destroy.status, destroy.interview_id, destroy.created_by) == (
        OperationType.DESTROY,
        OperationStatus.PENDING,
        interview.id,
        "scheduler",
    )
    cmds = await stream(js, COMMANDS_STREAM, "prequel.cmd.")
    assert [(c["type"], c["operationId"], c["reason"]) for c in cmds] == [("destroy", expected_id, "auto_destroy")]
    events = await stream(js, EVENTS_STREAM, scheduler_event_subject(interview.id))
    assert [e["event"] for e in events] == [
        {"type": "auto_destroy", "operationId": expected_id, "interviewId": interview.id}
    ]
    assert await store.timers.get(TimerKind.DESTROY, interview.id) is None
    stored = await store.interviews.get(interview.id)
    assert stored is not None
    assert stored.destroy_operation_id == expected_id


async def test_a_destroy_timer_firing_twice_keeps_one_destroy(recorder: Recorder, js: JetStreamContext) -> None:
    store = recorder.store
    interview, _create = await add_interview(store, status=InterviewStatus.ACTIVE, scheduled_at=None)
    timer = Timer(TimerKind.DESTROY, interview.id, now() - timedelta(seconds=1))
    await store.timers.set(timer)
    await tick(recorder, CommandPublisher(js))
    await store.timers.set(timer)  # e.g. a replica that read the timer before it was removed

    assert await tick(recorder, CommandPublisher(js)) == 1

    assert await commands_in_stream(js) == 1
    destroys = [o for o in await store.operations.list_all(interview.id) if o.type == OperationType.DESTROY]
    assert [o.id for o in destroys] == [derived_operation_id("auto-destroy", interview.id)]


async def test_two_replicas_log_the_scheduled_start_once(store: Store, js: JetStreamContext) -> None:
    _interview, create = await add_interview(
        store, status=InterviewStatus.SCHEDULED, scheduled_at=now() - timedelta(seconds=1)
    )
    replicas = [(Recorder(store, EventPublisher(js)), CommandPublisher(js)) for _ in range(2)]

    await asyncio.gather(*(tick(*replica) for replica in replicas))

    lines = await store.logs.read(create.id)
    assert sum("Scheduled start time reached" in line for line in lines) == 1
