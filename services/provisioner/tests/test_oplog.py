"""The provisioner's operation log: stamped, scrubbed, flushed, published, capped."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any

import prequel_provisioner.oplog as oplog_module
import pytest
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from prequel_common.bus import EventPublisher
from prequel_common.ids import new_interview_id, new_operation_id
from prequel_common.models import Operation
from prequel_common.recorder import Recorder
from prequel_common.status import OperationStatus, OperationType
from prequel_common.store import Store
from prequel_common.subjects import EVENTS_STREAM, log_event_subject
from prequel_provisioner.oplog import OperationLog

STAMPED = re.compile(r"^\[\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\] (?P<message>.*)$")
PASSWORD = "k3q9zx7m2p4w8t1v"


@pytest.fixture
def recorder(store: Store, js: JetStreamContext) -> Recorder:
    return Recorder(store, EventPublisher(js))


@pytest.fixture
def operation() -> Operation:
    return Operation(
        id=new_operation_id(),
        type=OperationType.CREATE,
        status=OperationStatus.RUNNING,
        interview_id=new_interview_id(),
        candidate_name="Grace Hopper",
        challenge="python",
        created_at=datetime.now(UTC),
    )


async def log_events(js: JetStreamContext, operation_id: str) -> list[dict[str, Any]]:
    """Every ``operation_log`` event of the operation on the events stream, in order."""
    subject = log_event_subject(operation_id)
    expected = ((await js.stream_info(EVENTS_STREAM, subjects_filter=subject)).state.subjects or {}).get(subject, 0)
    sub = await js.subscribe(subject, stream=EVENTS_STREAM, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    try:
        return [json.loads((await sub.next_msg(timeout=2)).data) for _ in range(expected)]
    finally:
        await sub.unsubscribe()


def messages(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        match = STAMPED.match(line)
        assert match, f"not stamped: {line!r}"
        out.append(match["message"])
    return out


async def test_lines_are_stamped_scrubbed_and_flushed_on_exit(
    recorder: Recorder, operation: Operation, js: JetStreamContext
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    async with OperationLog(recorder, operation, [PASSWORD, ""], flush_s=60) as oplog:
        oplog.write("Terraform initialised")
        oplog.write(f"password = {PASSWORD}; again {PASSWORD}")
        assert await recorder.store.logs.read(operation.id) == []  # nothing flushed yet
    after = datetime.now(UTC)

    stored = await recorder.store.logs.read(operation.id)
    assert messages(stored) == ["Terraform initialised", "password = ********; again ********"]
    assert all(PASSWORD not in line for line in stored)
    stamp = datetime.fromisoformat(stored[0][1:21].replace("Z", "+00:00"))
    assert before <= stamp <= after

    [event] = await log_events(js, operation.id)
    assert event["type"] == "operation_log"
    assert event["operationId"] == operation.id
    assert event["interviewId"] == operation.interview_id
    assert event["lines"] == [{"id": 0, "line": stored[0]}, {"id": 1, "line": stored[1]}]
    assert PASSWORD not in json.dumps(event)


async def test_the_pump_flushes_while_running(recorder: Recorder, operation: Operation, js: JetStreamContext) -> None:
    async with OperationLog(recorder, operation, [PASSWORD], flush_s=0.02) as oplog:
        oplog.write("first")
        deadline = asyncio.get_running_loop().time() + 2
        while not await recorder.store.logs.read(operation.id):
            assert asyncio.get_running_loop().time() < deadline, "the pump never flushed"
            await asyncio.sleep(0.01)
        await oplog.say("second")
        assert messages(await recorder.store.logs.read(operation.id)) == ["first", "second"]

    events = await log_events(js, operation.id)
    assert [line["id"] for event in events for line in event["lines"]] == [0, 1]


async def test_say_flushes_at_once(recorder: Recorder, operation: Operation) -> None:
    async with OperationLog(recorder, operation, [], flush_s=60) as oplog:
        await oplog.say("Waiting for the workspace")
        assert messages(await recorder.store.logs.read(operation.id)) == ["Waiting for the workspace"]


async def test_the_log_is_capped_with_one_truncation_line(
    recorder: Recorder, operation: Operation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oplog_module, "MAX_LINES", 5)
    async with OperationLog(recorder, operation, [], flush_s=60) as oplog:
        oplog.write("line 0")
        oplog.write("line 1")
        await oplog.flush()  # the cap counts flushed lines too
        for i in range(2, 20):
            oplog.write(f"line {i}")

    stored = messages(await recorder.store.logs.read(operation.id))
    assert len(stored) == 5
    assert stored[:4] == ["line 0", "line 1", "line 2", "line 3"]
    assert "log truncated" in stored[-1]
    assert sum("log truncated" in line for line in stored) == 1


async def test_an_unused_log_writes_nothing(recorder: Recorder, operation: Operation, js: JetStreamContext) -> None:
    async with OperationLog(recorder, operation, [PASSWORD], flush_s=0.01):
        await asyncio.sleep(0.03)
    assert await recorder.store.logs.read(operation.id) == []
    assert await log_events(js, operation.id) == []


class WatchedRecorder(Recorder):
    """A real Recorder that says when a batch of lines starts on its way to Redis and NATS."""

    def __init__(self, store: Store, events: EventPublisher) -> None:
        super().__init__(store, events)
        self.sending = asyncio.Event()

    async def log_lines(self, operation: Operation, lines: list[str]) -> None:
        self.sending.set()
        await super().log_lines(operation, lines)


async def leave(oplog: OperationLog, timeout_s: float = 1.0) -> bool:
    """Leave the log's context; False when that hangs (the runaway pump is then stopped, to keep the loop clean)."""
    leaving = asyncio.ensure_future(oplog.__aexit__(None, None, None))
    done, _ = await asyncio.wait({leaving}, timeout=timeout_s)
    while not leaving.done():
        oplog._task.cancel()  # type: ignore[union-attr]
        await asyncio.sleep(0.01)
    return bool(done)


async def test_lines_taken_by_the_pump_survive_the_exit(
    store: Store, js: JetStreamContext, operation: Operation
) -> None:
    recorder = WatchedRecorder(store, EventPublisher(js))
    oplog = OperationLog(recorder, operation, [], flush_s=0.001)
    await oplog.__aenter__()
    oplog.write("terraform destroy failed (exit code 1); the state is kept for a retry")
    await recorder.sending.wait()  # the pump has taken the line and is writing it: now the handler returns
    assert await leave(oplog), "__aexit__ hung"

    assert messages(await store.logs.read(operation.id)) == [
        "terraform destroy failed (exit code 1); the state is kept for a retry"
    ]
    [event] = await log_events(js, operation.id)
    assert [line["id"] for line in event["lines"]] == [0]


async def test_exit_returns_whenever_it_happens(recorder: Recorder, operation: Operation) -> None:
    hung_at = None
    for yields in range(12):  # leave after 0, 1, 2, ... turns of the loop: at each step of the pump's flush
        oplog = OperationLog(recorder, operation, [], flush_s=0)
        await oplog.__aenter__()
        oplog.write(f"line {yields}")
        for _ in range(yields):
            await asyncio.sleep(0)
        if not await leave(oplog):
            hung_at = yields
            break
    assert hung_at is None, f"OperationLog.__aexit__ hung when leaving after {hung_at} loop turns"
