"""Each sweep repairs what it is for: the broken situations are made for real in Redis, NATS and on disk."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from prequel_common.bus import CommandPublisher, EventPublisher
from prequel_common.commands import parse_command
from prequel_common.ids import new_interview_id, new_operation_id
from prequel_common.models import Interview, Operation
from prequel_common.recorder import Recorder
from prequel_common.status import InterviewStatus, OperationStatus, OperationType
from prequel_common.store import Store
from prequel_common.subjects import COMMANDS_STREAM, EVENTS_STREAM
from prequel_common.tfstate import LocalStates
from prequel_scheduler.sweeps import Sweeper, SweepRules

RULES = SweepRules(overdue_grace=timedelta(seconds=60), hung_after=timedelta(minutes=5))


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def _interview(
    store: Store, status: InterviewStatus, *, deadline: datetime, create_status: OperationStatus
) -> tuple[Interview, Operation]:
    created = min(deadline, _now()) - timedelta(minutes=30)
    interview = Interview(
        id=new_interview_id(),
        candidate_name="Swept",
        challenge="python",
        status=status,
        password="pw0123456789",
        created_at=created,
        auto_destroy_at=deadline,
        auto_destroy_minutes=30,
        create_operation_id=new_operation_id(),
    )
    create = Operation(
        id=interview.create_operation_id or "",
        type=OperationType.CREATE,
        status=create_status,
        interview_id=interview.id,
        candidate_name="Swept",
        challenge="python",
        created_at=created,
        started_at=created,
        heartbeat_at=created,
    )
    await store.create_interview(interview, create)
    if create_status not in (OperationStatus.PENDING, OperationStatus.RUNNING):
        await store.redis.srem(store.keys.active_operations, create.id)
    return interview, create


async def _read(js: JetStreamContext, stream: str, prefix: str) -> list[bytes]:
    """Messages of a stream by sequence, nothing consumed (a work-queue stream allows one consumer per subject)."""
    state = (await js.stream_info(stream)).state
    found = []
    for seq in range(state.first_seq, state.last_seq + 1) if state.messages else ():
        msg = await js.get_msg(stream, seq)
        if (msg.subject or "").startswith(prefix):
            found.append(msg.data or b"")
    return found


async def _commands(js: JetStreamContext) -> list[tuple[str, str, str]]:
    commands = [parse_command(data) for data in await _read(js, COMMANDS_STREAM, "prequel.cmd.")]
    return [(c.type, c.interview_id, getattr(c, "reason", "")) for c in commands]


async def _scheduler_events(js: JetStreamContext) -> list[dict[str, object]]:
    return [json.loads(data)["event"] for data in await _read(js, EVENTS_STREAM, "prequel.evt.scheduler.")]


@pytest.fixture
def recorder(store: Store, js: JetStreamContext) -> Recorder:
    return Recorder(store, EventPublisher(js))


def _sweeper(recorder: Recorder, js: JetStreamContext, states: LocalStates | None = None) -> Sweeper:
    return Sweeper(recorder, CommandPublisher(js), RULES, states)


async def test_overdue_interview_is_destroyed(recorder: Recorder, js: JetStreamContext) -> None:
    store = recorder.store
    late, _ = await _interview(
        store, InterviewStatus.ACTIVE, deadline=_now() - timedelta(minutes=2), create_status=OperationStatus.COMPLETED
    )
    within_grace, _ = await _interview(
        store, InterviewStatus.ACTIVE, deadline=_now() - timedelta(seconds=20), create_status=OperationStatus.COMPLETED
    )
    repairs = await _sweeper(recorder, js).run_once(lease_s=1)
    assert repairs is not None and [(r.kind, r.interview_id) for r in repairs] == [("overdue_destroy", late.id)]
    assert await _commands(js) == [("destroy", late.id, "auto_destroy")]
    assert {"type": "overdue_destroy", "interviewId": late.id, "operationId": repairs[0].operation_id} in (
        await _scheduler_events(js)
    )
    destroy = await store.operations.get(repairs[0].operation_id or "")
    assert destroy is not None and any("Overdue" in line for line in await store.logs.read(destroy.id))
    assert within_grace.id not in str(repairs)


async def test_a_second_replica_in_the_same_round_does_nothing(recorder: Recorder, js: JetStreamContext) -> None:
    await _interview(
        recorder.store,
        InterviewStatus.ACTIVE,
        deadline=_now() - timedelta(minutes=2),
        create_status=OperationStatus.COMPLETED,
    )
    assert await _sweeper(recorder, js).run_once(lease_s=5)
    assert await _sweeper(recorder, js).run_once(lease_s=5) is None


async def test_hung_operation_fails_and_is_cleaned_up(recorder: Recorder, js: JetStreamContext) -> None:
    store = recorder.store
    interview, create = await _interview(
        store, InterviewStatus.INITIALIZING, deadline=_now() + timedelta(hours=1), create_status=OperationStatus.RUNNING
    )
    alive, alive_create = await _interview(
        store, InterviewStatus.INITIALIZING, deadline=_now() + timedelta(hours=1), create_status=OperationStatus.RUNNING
    )
    await store.operations.touch(alive_create.id, _now())  # its worker is alive
    repairs = await _sweeper(recorder, js).run_once(lease_s=1)
    assert repairs is not None and [(r.kind, r.operation_id) for r in repairs] == [("hung_operation", create.id)]
    failed = await store.operations.get(create.id)
    assert failed is not None and failed.status == OperationStatus.FAILED
    assert any("No worker has reported" in line for line in await store.logs.read(create.id))
    again = await store.interviews.get(interview.id)
    assert again is not None and again.status == InterviewStatus.ERROR
    assert await _commands(js) == [("destroy", interview.id, "cleanup")]
    still = await store.operations.get(alive_create.id)
    assert still is not None and still.status == OperationStatus.RUNNING and alive.id not in str(repairs)


async def test_orphaned_state_is_destroyed_and_drift_is_flagged(
    recorder: Recorder, js: JetStreamContext, tmp_path: Path
) -> None:
    store = recorder.store
    states = LocalStates(tmp_path)
    orphan_id = new_interview_id()  # a state with resources, and no record at all
    drifted, create = await _interview(
        store, InterviewStatus.ACTIVE, deadline=_now() + timedelta(hours=1), create_status=OperationStatus.COMPLETED
    )
    healthy, _ = await _interview(
        store, InterviewStatus.ACTIVE, deadline=_now() + timedelta(hours=1), create_status=OperationStatus.COMPLETED
    )
    for interview_id in (orphan_id, healthy.id):
        folder = tmp_path / "terraform" / interview_id
        folder.mkdir(parents=True)
        (folder / "terraform.tfstate").write_text(json.dumps({"resources": [{"type": "terraform_data"}]}))
    repairs = await _sweeper(recorder, js, states).run_once(lease_s=1)
    assert repairs is not None and [(r.kind, r.interview_id) for r in repairs] == [("orphan_destroy", orphan_id)]
    assert await _commands(js) == [("destroy", orphan_id, "cleanup")]
    flagged = await store.interviews.get(drifted.id)
    assert flagged is not None and flagged.status == InterviewStatus.ERROR
    assert any("Drift" in line for line in await store.logs.read(create.id))
    kept = await store.interviews.get(healthy.id)
    assert kept is not None and kept.status == InterviewStatus.ACTIVE


async def test_no_view_of_the_states_means_no_drift_guess(
    recorder: Recorder, js: JetStreamContext, tmp_path: Path
) -> None:
    active, _ = await _interview(
        recorder.store,
        InterviewStatus.ACTIVE,
        deadline=_now() + timedelta(hours=1),
        create_status=OperationStatus.COMPLETED,
    )
    await _sweeper(recorder, js, LocalStates(tmp_path / "missing")).run_once(lease_s=1)
    kept = await recorder.store.interviews.get(active.id)
    assert kept is not None and kept.status == InterviewStatus.ACTIVE
