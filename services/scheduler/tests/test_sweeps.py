"""Each sweep repairs what it is for: the broken situations are made for real in Redis, NATS and on disk."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from prequel_common.bus import CommandPublisher, EventPublisher
from prequel_common.commands import CreateInterview, parse_command
from prequel_common.ids import derived_operation_id, new_interview_id, new_operation_id
from prequel_common.lifecycle import DestroyRequested, request_destroy
from prequel_common.models import Interview, Operation, OperationResult
from prequel_common.recorder import Recorder
from prequel_common.status import InterviewStatus, OperationStatus, OperationType
from prequel_common.store import Store
from prequel_common.subjects import COMMANDS_STREAM, EVENTS_STREAM
from prequel_common.tfstate import LocalStates
from prequel_scheduler.sweeps import JetStreamQueue, Sweeper, SweepRules, lease_key

RULES = SweepRules(overdue_grace=timedelta(seconds=60), hung_after=timedelta(minutes=5), retry_backoff=timedelta(0))
#: what a state holds after apply (format version 4), and after destroy
LIVE_STATE = {
    "version": 4,
    "resources": [
        {"mode": "managed", "type": "terraform_data", "name": "ide", "instances": [{"attributes": {"id": "x"}}]}
    ],
}
EMPTY_STATE = {"version": 4, "resources": []}


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def _interview(
    store: Store,
    status: InterviewStatus,
    *,
    deadline: datetime,
    create_status: OperationStatus,
    scheduled_at: datetime | None = None,
) -> tuple[Interview, Operation]:
    created = min(deadline, _now()) - timedelta(minutes=30)
    interview = Interview(
        id=new_interview_id(),
        candidate_name="Swept",
        challenge="python",
        status=status,
        password="pw0123456789",
        created_at=created,
        scheduled_at=scheduled_at,
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


async def _destroy_ids(js: JetStreamContext) -> list[str]:
    commands = [parse_command(data) for data in await _read(js, COMMANDS_STREAM, "prequel.cmd.provision.destroy.")]
    return [c.operation_id for c in commands]


async def _scheduler_events(js: JetStreamContext) -> list[dict[str, object]]:
    return [json.loads(data)["event"] for data in await _read(js, EVENTS_STREAM, "prequel.evt.scheduler.")]


@pytest.fixture
def recorder(store: Store, js: JetStreamContext) -> Recorder:
    return Recorder(store, EventPublisher(js))


def _sweeper(
    recorder: Recorder, js: JetStreamContext, states: LocalStates | None = None, rules: SweepRules = RULES
) -> Sweeper:
    return Sweeper(recorder, CommandPublisher(js), rules, states, JetStreamQueue(js))


async def _round(sweeper: Sweeper, store: Store) -> list[tuple[str, str, str | None]]:
    await store.redis.delete(f"{store.keys.prefix}:sweep-lease")  # the next round, now
    repairs = await sweeper.run_once(lease_s=1)
    assert repairs is not None
    return [(r.kind, r.interview_id, r.operation_id) for r in repairs]


async def _fail_as_the_provisioner_does(recorder: Recorder, operation_id: str, interview_id: str) -> None:
    """What the provisioner writes when ``terraform destroy`` fails: operation failed, interview error."""
    assert (await recorder.operation_to(operation_id, OperationStatus.RUNNING, started_at=_now())).changed
    await recorder.interview_to(interview_id, InterviewStatus.DESTROYING)
    await recorder.interview_to(interview_id, InterviewStatus.ERROR)
    failed = OperationResult(success=False, error="destroy failed")
    moved = await recorder.operation_to(operation_id, OperationStatus.FAILED, completed_at=_now(), result=failed)
    assert moved.changed


# -- overdue ---------------------------------------------------------------------------------------------------


async def test_overdue_interview_is_destroyed_once(recorder: Recorder, js: JetStreamContext) -> None:
    store = recorder.store
    late, _ = await _interview(
        store, InterviewStatus.ACTIVE, deadline=_now() - timedelta(minutes=2), create_status=OperationStatus.COMPLETED
    )
    within_grace, _ = await _interview(
        store, InterviewStatus.ACTIVE, deadline=_now() - timedelta(seconds=20), create_status=OperationStatus.COMPLETED
    )
    sweeper = _sweeper(recorder, js)
    repairs = await _round(sweeper, store)
    assert [(kind, interview_id) for kind, interview_id, _ in repairs] == [("overdue_destroy", late.id)]
    operation_id = repairs[0][2]
    assert await _commands(js) == [("destroy", late.id, "auto_destroy")]
    assert {"type": "overdue_destroy", "interviewId": late.id, "operationId": operation_id} in (
        await _scheduler_events(js)
    )
    lines = await store.logs.read(operation_id or "")
    assert sum("Overdue" in line for line in lines) == 1
    assert within_grace.id not in str(repairs)

    # the destroy is pending (queued): the next rounds leave it alone, and say nothing more
    assert await _round(sweeper, store) == []
    assert await _round(sweeper, store) == []
    assert await store.logs.read(operation_id or "") == lines
    assert len(await _scheduler_events(js)) == 1
    assert await _destroy_ids(js) == [operation_id]


async def test_a_failed_destroy_is_retried_with_a_new_operation_until_one_runs(
    recorder: Recorder, js: JetStreamContext
) -> None:
    store = recorder.store
    interview, _ = await _interview(
        store, InterviewStatus.ACTIVE, deadline=_now() - timedelta(minutes=2), create_status=OperationStatus.COMPLETED
    )
    # the auto-destroy timer fired, and its destroy failed
    auto_id = derived_operation_id("auto-destroy", interview.id)
    outcome = await request_destroy(
        recorder, CommandPublisher(js), interview.id, operation_id=auto_id, reason="auto_destroy"
    )
    assert isinstance(outcome, DestroyRequested) and outcome.created
    await _fail_as_the_provisioner_does(recorder, auto_id, interview.id)
    sweeper = _sweeper(recorder, js)

    attempts = [auto_id]
    for _ in range(3):  # every round after a failure: a new destroy, holding the interview's slot
        [(kind, interview_id, retry_id)] = await _round(sweeper, store)
        assert (kind, interview_id) == ("overdue_destroy", interview.id)
        assert retry_id not in attempts
        stored = await store.interviews.get(interview.id)
        assert stored is not None and stored.destroy_operation_id == retry_id
        assert any(f"retrying after destroy {attempts[-1]} failed" in line for line in await store.logs.read(retry_id))
        attempts.append(retry_id or "")
        await _fail_as_the_provisioner_does(recorder, retry_id or "", interview.id)

    assert await _destroy_ids(js) == attempts  # each one a command the provisioner has never seen
    events = [e for e in await _scheduler_events(js) if e["type"] == "overdue_destroy"]
    assert [e["operationId"] for e in events] == attempts[1:]


async def test_retries_back_off_after_each_failure(recorder: Recorder, js: JetStreamContext) -> None:
    store = recorder.store
    interview, _ = await _interview(
        store, InterviewStatus.ERROR, deadline=_now() - timedelta(minutes=2), create_status=OperationStatus.FAILED
    )
    rules = SweepRules(retry_backoff=timedelta(hours=1), retry_backoff_max=timedelta(hours=6))
    sweeper = _sweeper(recorder, js, rules=rules)
    [(_, _, first)] = await _round(sweeper, store)
    await _fail_as_the_provisioner_does(recorder, first or "", interview.id)
    assert await _round(sweeper, store) == [], "an hour's back-off after one failure"
    assert rules.retry_wait(1) == timedelta(hours=1) and rules.retry_wait(3) == timedelta(hours=4)
    assert SweepRules().retry_wait(10) == timedelta(minutes=10), "capped"


async def test_a_claimed_but_unrecorded_destroy_is_finished(recorder: Recorder, js: JetStreamContext) -> None:
    store = recorder.store
    interview, _ = await _interview(
        store, InterviewStatus.ACTIVE, deadline=_now() - timedelta(minutes=2), create_status=OperationStatus.COMPLETED
    )
    lost = new_operation_id()  # a process claimed the slot, then died before writing the operation
    assert await store.claim_destroy(interview.id, lost) == (True, lost)
    assert await _round(_sweeper(recorder, js), store) == [("overdue_destroy", interview.id, lost)]
    stored = await store.operations.get(lost)
    assert stored is not None and stored.status == OperationStatus.PENDING
    assert await _destroy_ids(js) == [lost]


async def test_a_second_replica_in_the_same_round_does_nothing(recorder: Recorder, js: JetStreamContext) -> None:
    await _interview(
        recorder.store,
        InterviewStatus.ACTIVE,
        deadline=_now() - timedelta(minutes=2),
        create_status=OperationStatus.COMPLETED,
    )
    assert await _sweeper(recorder, js).run_once(lease_s=5)
    assert await _sweeper(recorder, js).run_once(lease_s=5) is None


# -- hung ------------------------------------------------------------------------------------------------------


async def test_a_running_operation_without_lease_or_heartbeat_is_hung(recorder: Recorder, js: JetStreamContext) -> None:
    store = recorder.store
    future = _now() + timedelta(hours=1)
    hung, create = await _interview(
        store, InterviewStatus.INITIALIZING, deadline=future, create_status=OperationStatus.RUNNING
    )
    beating, beating_create = await _interview(
        store, InterviewStatus.INITIALIZING, deadline=future, create_status=OperationStatus.RUNNING
    )
    await store.operations.touch(beating_create.id, _now())  # its worker reported a moment ago
    leased, leased_create = await _interview(
        store, InterviewStatus.INITIALIZING, deadline=future, create_status=OperationStatus.RUNNING
    )
    # a live worker's lease, though its heartbeat write is old (lost, or late)
    await store.redis.set(lease_key(store.keys.prefix, leased_create.id), "worker-1", px=60_000)

    repairs = await _round(_sweeper(recorder, js), store)

    assert [(kind, operation_id) for kind, _, operation_id in repairs] == [("hung_operation", create.id)]
    failed = await store.operations.get(create.id)
    assert failed is not None and failed.status == OperationStatus.FAILED
    assert failed.result is not None and "lease expired" in (failed.result.error or "")
    assert any("Hung" in line and "marked failed" in line for line in await store.logs.read(create.id))
    again = await store.interviews.get(hung.id)
    assert again is not None and again.status == InterviewStatus.ERROR
    cleanup_id = derived_operation_id("hung-cleanup", create.id)
    assert again.destroy_operation_id == cleanup_id, "the cleanup is the interview's destroy"
    assert await _commands(js) == [("destroy", hung.id, "cleanup")]
    assert {"type": "hung_operation", "interviewId": hung.id, "operationId": create.id} in await _scheduler_events(js)
    for alive in (beating_create, leased_create):
        still = await store.operations.get(alive.id)
        assert still is not None and still.status == OperationStatus.RUNNING
    assert beating.id not in str(repairs) and leased.id not in str(repairs)


async def test_pending_operations_are_hung_only_without_a_queued_command(
    recorder: Recorder, js: JetStreamContext
) -> None:
    store = recorder.store
    future = _now() + timedelta(hours=1)
    # queued behind the provisioners' concurrency cap for 30 minutes: its command is on the work queue
    queued, queued_create = await _interview(
        store, InterviewStatus.INITIALIZING, deadline=future, create_status=OperationStatus.PENDING
    )
    await CommandPublisher(js).publish(CreateInterview(operation_id=queued_create.id, interview_id=queued.id))
    # waiting for its scheduled start: the start timer will publish its command
    waiting, _ = await _interview(
        store,
        InterviewStatus.SCHEDULED,
        deadline=future,
        create_status=OperationStatus.PENDING,
        scheduled_at=_now() + timedelta(minutes=10),
    )
    # pending for 30 minutes and no command anywhere: nothing would ever run it
    lost, lost_create = await _interview(
        store, InterviewStatus.INITIALIZING, deadline=future, create_status=OperationStatus.PENDING
    )

    repairs = await _round(_sweeper(recorder, js), store)

    assert [(kind, operation_id) for kind, _, operation_id in repairs] == [("hung_operation", lost_create.id)]
    failed = await store.operations.get(lost_create.id)
    assert failed is not None and failed.status == OperationStatus.FAILED
    assert any("no command on the work queue" in line for line in await store.logs.read(lost_create.id))
    for kept in (queued_create.id, (waiting.create_operation_id or "")):
        operation = await store.operations.get(kept)
        assert operation is not None and operation.status == OperationStatus.PENDING
    assert (await store.interviews.get(lost.id)).status == InterviewStatus.ERROR  # type: ignore[union-attr]


# -- orphans and drift -----------------------------------------------------------------------------------------


def _write_state(data_dir: Path, interview_id: str, state: dict[str, object]) -> None:
    folder = data_dir / "terraform" / interview_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "terraform.tfstate").write_text(json.dumps(state))


async def test_orphaned_state_is_destroyed_and_drift_is_flagged(
    recorder: Recorder, js: JetStreamContext, tmp_path: Path
) -> None:
    store = recorder.store
    states = LocalStates(tmp_path)
    orphan_id = new_interview_id()  # a state with resources, and no record at all
    future = _now() + timedelta(hours=1)
    drifted, create = await _interview(
        store, InterviewStatus.ACTIVE, deadline=future, create_status=OperationStatus.COMPLETED
    )
    healthy, _ = await _interview(
        store, InterviewStatus.ACTIVE, deadline=future, create_status=OperationStatus.COMPLETED
    )
    for interview_id in (orphan_id, healthy.id):
        _write_state(tmp_path, interview_id, LIVE_STATE)
    _write_state(tmp_path, drifted.id, EMPTY_STATE)
    sweeper = _sweeper(recorder, js, states)

    repairs = await _round(sweeper, store)

    first = derived_operation_id("orphan", orphan_id, "0")
    assert repairs == [("orphan_destroy", orphan_id, first), ("drift", drifted.id, create.id)]
    assert await _commands(js) == [("destroy", orphan_id, "cleanup")]
    flagged = await store.interviews.get(drifted.id)
    assert flagged is not None and flagged.status == InterviewStatus.ERROR
    assert any("Drift" in line for line in await store.logs.read(create.id))
    kept = await store.interviews.get(healthy.id)
    assert kept is not None and kept.status == InterviewStatus.ACTIVE
    events = await _scheduler_events(js)
    assert {"type": "orphan_destroy", "interviewId": orphan_id, "operationId": first} in events
    assert {"type": "drift", "interviewId": drifted.id, "operationId": create.id} in events

    # the cleanup is pending: nothing new; it fails: the next round makes a second attempt, with an id of its own
    assert await _round(sweeper, store) == []
    assert (await recorder.operation_to(first, OperationStatus.RUNNING)).changed
    assert (await recorder.operation_to(first, OperationStatus.FAILED, completed_at=_now())).changed
    second = derived_operation_id("orphan", orphan_id, "1")
    assert await _round(sweeper, store) == [("orphan_destroy", orphan_id, second)]
    assert await _destroy_ids(js) == [first, second]
    assert any(f"retrying after {first} failed" in line for line in await store.logs.read(second))


async def test_an_interview_being_destroyed_is_not_drift(
    recorder: Recorder, js: JetStreamContext, tmp_path: Path
) -> None:
    """Its state empties while a round runs: the round read it active, but only an active interview is flagged."""
    store = recorder.store
    interview, _ = await _interview(
        store, InterviewStatus.ACTIVE, deadline=_now() + timedelta(hours=1), create_status=OperationStatus.COMPLETED
    )
    _write_state(tmp_path, interview.id, EMPTY_STATE)
    sweeper = _sweeper(recorder, js, LocalStates(tmp_path))
    await recorder.interview_to(interview.id, InterviewStatus.DESTROYING)
    repair = await sweeper._drift(interview)  # the round's stale view: active
    assert repair is None
    stored = await store.interviews.get(interview.id)
    assert stored is not None and stored.status == InterviewStatus.DESTROYING


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
