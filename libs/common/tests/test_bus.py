"""The NATS JetStream plumbing against a real nats-server, and the shared destroy request."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from prequel_common.bus import CommandPublisher, EventPublisher, ensure_streams
from prequel_common.commands import CreateInterview, DestroyInterview, parse_command
from prequel_common.events import InterviewUpdate
from prequel_common.ids import new_interview_id, new_operation_id
from prequel_common.lifecycle import (
    CancelDone,
    DestroyConflict,
    DestroyRequested,
    InterviewNotFound,
    cancel_operation,
    request_destroy,
)
from prequel_common.models import Interview, Operation
from prequel_common.recorder import Recorder
from prequel_common.status import InterviewStatus, OperationStatus, OperationType
from prequel_common.store import Store, TimerKind
from prequel_common.subjects import COMMANDS_STREAM, EVENTS_STREAM, command_subject, interview_event_subject
from prequel_common.views import InterviewView
from pydantic import ValidationError


async def stream_messages(js: JetStreamContext, stream: str) -> int:
    return int((await js.stream_info(stream)).state.messages)


async def read_stream(js: JetStreamContext, stream: str, subject: str) -> list[tuple[str, dict[str, object]]]:
    """Every message of the stream matching ``subject``, without consuming them (an ephemeral pull consumer)."""
    count = await stream_messages(js, stream)
    if count == 0:
        return []
    sub = await js.pull_subscribe(
        subject, stream=stream, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, inactive_threshold=5.0)
    )
    try:
        msgs = []
        while True:
            try:
                batch = await sub.fetch(100, timeout=0.3)
            except TimeoutError:
                break
            msgs += batch
            if len(batch) < 100:
                break
        return [(m.subject, json.loads(m.data)) for m in msgs]
    finally:
        await sub.unsubscribe()


def make_interview(
    *, status: InterviewStatus = InterviewStatus.ACTIVE, scheduled_at: datetime | None = None
) -> tuple[Interview, Operation]:
    now = datetime.now(UTC).replace(microsecond=0)
    start = scheduled_at or now
    interview = Interview(
        id=new_interview_id(),
        candidate_name="Ada Lovelace",
        challenge="python",
        status=status,
        password="pw0123456789abcd",
        created_at=now,
        scheduled_at=scheduled_at,
        auto_destroy_at=start + timedelta(minutes=45),
        auto_destroy_minutes=45,
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
        created_at=now,
        scheduled_at=scheduled_at,
        auto_destroy_at=interview.auto_destroy_at,
    )
    return interview, create


async def test_ensure_streams_is_idempotent(js: JetStreamContext) -> None:
    await ensure_streams(js)
    await ensure_streams(js)
    assert (await js.stream_info(COMMANDS_STREAM)).config.name == COMMANDS_STREAM
    assert (await js.stream_info(EVENTS_STREAM)).config.name == EVENTS_STREAM


async def test_a_republished_command_is_deduplicated(js: JetStreamContext) -> None:
    commands = CommandPublisher(js)
    command = CreateInterview(operation_id=new_operation_id(), interview_id=new_interview_id())

    await commands.publish(command)
    await commands.publish(command)
    # a fresh object for the same operation (another issued_at) is still the same command
    await commands.publish(CreateInterview(operation_id=command.operation_id, interview_id=command.interview_id))

    assert await stream_messages(js, COMMANDS_STREAM) == 1
    [(subject, body)] = await read_stream(js, COMMANDS_STREAM, command_subject("create", command.interview_id))
    assert subject == f"prequel.cmd.provision.create.{command.interview_id}"
    assert body["operationId"] == command.operation_id
    assert body["type"] == "create"

    await commands.publish(DestroyInterview(operation_id=new_operation_id(), interview_id=command.interview_id))
    assert await stream_messages(js, COMMANDS_STREAM) == 2


async def test_event_publish_returns_increasing_sequences(js: JetStreamContext) -> None:
    events = EventPublisher(js)
    interview, _ = make_interview()
    event = InterviewUpdate(interview=InterviewView.of(interview, with_password=False))
    subject = interview_event_subject(interview.id)

    seqs = [await events.publish(subject, event, correlation_id=interview.id) for _ in range(3)]

    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 3
    assert seqs[0] >= 1
    [(_, body), *_] = await read_stream(js, EVENTS_STREAM, subject)
    assert body["type"] == "interview_update"
    assert body["interview"]["id"] == interview.id
    assert body["interview"].get("password") is None


@pytest.mark.parametrize(
    "command",
    [
        CreateInterview(operation_id="op-0001", interview_id="int-0001"),
        DestroyInterview(operation_id="op-0002", interview_id="int-0002", reason="auto_destroy"),
    ],
)
def test_parse_command_round_trips(command: CreateInterview | DestroyInterview) -> None:
    data = command.model_dump_json(by_alias=True).encode()
    assert b"operationId" in data
    parsed = parse_command(data)
    assert type(parsed) is type(command)
    assert parsed.operation_id == command.operation_id
    assert parsed.interview_id == command.interview_id
    assert parsed.issued_at == command.issued_at.replace(microsecond=0)  # whole seconds on the wire
    assert parsed.wire() == command.wire()


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[]",
        b"{}",
        b'{"type": "explode", "operationId": "op-1", "interviewId": "int-1"}',
        b'{"type": "create", "interviewId": "int-1"}',
        b'{"type": "destroy", "operationId": "op-1", "interviewId": "int-1", "reason": "whim"}',
    ],
)
def test_parse_command_rejects_garbage(data: bytes) -> None:
    with pytest.raises(ValidationError):
        parse_command(data)


@pytest.fixture
def recorder(store: Store, js: JetStreamContext) -> Recorder:
    return Recorder(store, EventPublisher(js))


async def test_request_destroy_then_conflict(recorder: Recorder, js: JetStreamContext) -> None:
    store = recorder.store
    interview, create = make_interview()
    await store.create_interview(interview, create)
    commands = CommandPublisher(js)

    first_id = new_operation_id()
    outcome = await request_destroy(
        recorder, commands, interview.id, operation_id=first_id, reason="requested", created_by="tester"
    )

    assert isinstance(outcome, DestroyRequested)
    assert outcome.operation.id == first_id
    assert outcome.operation.type == OperationType.DESTROY
    stored = await store.operations.get(first_id)
    assert stored is not None
    assert (stored.status, stored.type, stored.interview_id) == (
        OperationStatus.PENDING,
        OperationType.DESTROY,
        interview.id,
    )
    assert first_id in {o.id for o in await store.operations.list_active()}
    assert any("queued (requested by tester)" in line for line in await store.logs.read(first_id))
    cmds = await read_stream(js, COMMANDS_STREAM, command_subject("destroy", interview.id))
    assert [(body["type"], body["operationId"], body["reason"]) for _, body in cmds] == [
        ("destroy", first_id, "requested")
    ]

    other_id = new_operation_id()
    second = await request_destroy(recorder, commands, interview.id, operation_id=other_id, reason="requested")

    assert isinstance(second, DestroyConflict)
    assert second.operation_id == first_id
    assert await store.operations.get(other_id) is None
    assert await stream_messages(js, COMMANDS_STREAM) == 1


async def test_request_destroy_of_an_unknown_interview(recorder: Recorder, js: JetStreamContext) -> None:
    outcome = await request_destroy(
        recorder, CommandPublisher(js), "int-nobody", operation_id=new_operation_id(), reason="requested"
    )
    assert outcome == InterviewNotFound("int-nobody")
    assert await stream_messages(js, COMMANDS_STREAM) == 0


async def test_request_destroy_of_a_scheduled_interview_cancels_the_pending_create(
    recorder: Recorder, js: JetStreamContext
) -> None:
    store = recorder.store
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    interview, create = make_interview(status=InterviewStatus.SCHEDULED, scheduled_at=start)
    await store.create_interview(interview, create)
    assert await store.timers.get(TimerKind.START, interview.id) is not None

    outcome = await request_destroy(
        recorder, CommandPublisher(js), interview.id, operation_id=new_operation_id(), reason="requested"
    )

    assert isinstance(outcome, DestroyRequested)
    cancelled = await store.operations.get(create.id)
    assert cancelled is not None
    assert cancelled.status == OperationStatus.CANCELLED
    assert cancelled.completed_at is not None
    assert await store.timers.get(TimerKind.START, interview.id) is None
    assert {o.id for o in await store.operations.list_active()} == {outcome.operation.id}
    assert any("Cancelled" in line for line in await store.logs.read(create.id))
    assert await store.operations.cancel_reason(create.id) is None  # nothing was running: no stop request


class ProvisionerStartsFirst(Recorder):
    """A real Recorder; just before the create is cancelled, a provisioner starts running it (as a worker that took
    its command a moment earlier would). This is the interleaving, on the real store, that the race allows."""

    def __init__(self, store: Store, events: EventPublisher, create_id: str) -> None:
        super().__init__(store, events)
        self.create_id = create_id
        self.started = False

    async def operation_to(self, operation_id: str, target: OperationStatus, **fields: object) -> Any:
        if operation_id == self.create_id and target == OperationStatus.CANCELLED and not self.started:
            self.started = True
            moved = await self.store.operations.transition(operation_id, OperationStatus.RUNNING)
            assert moved.changed
        return await super().operation_to(operation_id, target, **fields)


async def test_request_destroy_stops_a_create_that_just_started(store: Store, js: JetStreamContext) -> None:
    interview, create = make_interview(status=InterviewStatus.INITIALIZING)
    create = create.model_copy(update={"status": OperationStatus.PENDING})
    await store.create_interview(interview, create)
    recorder = ProvisionerStartsFirst(store, EventPublisher(js), create.id)

    outcome = await request_destroy(
        recorder, CommandPublisher(js), interview.id, operation_id=new_operation_id(), reason="requested"
    )

    assert isinstance(outcome, DestroyRequested)
    assert recorder.started
    # the worker holding the running create learns that it must stop only through the cancel key
    assert await store.operations.cancel_reason(create.id) is not None


async def test_cancel_of_a_create_that_started_since_it_was_read(store: Store, js: JetStreamContext) -> None:
    interview, create = make_interview(status=InterviewStatus.INITIALIZING)
    create = create.model_copy(update={"status": OperationStatus.PENDING})
    await store.create_interview(interview, create)
    seen = await store.operations.get(create.id)  # what GET-then-cancel in the API reads
    assert seen is not None
    assert seen.status == OperationStatus.PENDING
    assert (await store.operations.transition(create.id, OperationStatus.RUNNING)).changed  # the worker starts

    outcome = await cancel_operation(Recorder(store, EventPublisher(js)), seen, by="tester")

    assert isinstance(outcome, CancelDone)
    stored = await store.interviews.get(interview.id)
    assert stored is not None
    assert stored.status != InterviewStatus.DESTROYED  # infrastructure is being created right now
    assert await store.operations.cancel_reason(create.id) is not None
