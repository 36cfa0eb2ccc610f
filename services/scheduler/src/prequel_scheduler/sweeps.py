"""Periodic repairs, each logged and emitted as a ``scheduler_event``:

- overdue: an interview past ``autoDestroyAt`` + grace that is not being destroyed → destroy;
- hung: a running operation with no worker heartbeat for ``hung_after`` (or a create whose command never got
  picked up) → ``failed`` with a log line, interview ``error``, cleanup destroy;
- orphans: a Terraform state holding resources with no live interview → destroy;
- drift: an ``active`` interview whose state is empty → ``error`` with a log line.

Safe with several replicas: one round at a time holds a Redis lease, and every repair uses deterministic ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from prequel_common.bus import CommandPublisher
from prequel_common.clock import iso, utcnow
from prequel_common.events import SchedulerAction, SchedulerEvent, SchedulerEventBody
from prequel_common.ids import derived_operation_id
from prequel_common.lifecycle import DestroyRequested, request_cleanup, request_destroy
from prequel_common.models import Interview, Operation, OperationResult
from prequel_common.recorder import Recorder
from prequel_common.status import InterviewStatus, OperationStatus, OperationType
from prequel_common.tfstate import LocalStates

from prequel_scheduler.metrics import SWEEP_REPAIRS

log = structlog.get_logger(__name__)
_GONE = (InterviewStatus.DESTROYING, InterviewStatus.DESTROYED)


@dataclass(frozen=True)
class SweepRules:
    overdue_grace: timedelta = timedelta(seconds=60)
    hung_after: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class Repair:
    kind: SchedulerAction
    interview_id: str
    operation_id: str | None


class Sweeper:
    def __init__(
        self, recorder: Recorder, commands: CommandPublisher, rules: SweepRules, states: LocalStates | None
    ) -> None:
        self._recorder = recorder
        self._commands = commands
        self._rules = rules
        self._states = states

    async def run_once(self, lease_s: int) -> list[Repair] | None:
        """One round, or None when another replica holds this round's lease."""
        store = self._recorder.store
        if not await store.redis.set(f"{store.keys.prefix}:sweep-lease", "1", nx=True, ex=max(1, lease_s)):
            return None
        now = utcnow()
        interviews = await store.interviews.list_all()
        repairs = [
            *await self._overdue(interviews, now),
            *await self._hung(now),
            *await self._orphans_and_drift(interviews),
        ]
        for repair in repairs:
            event = SchedulerEvent(
                event=SchedulerEventBody(
                    type=repair.kind, operation_id=repair.operation_id, interview_id=repair.interview_id
                )
            )
            await self._recorder.scheduler_event(event, msg_id=f"sweep-{repair.kind}-{repair.operation_id}")
            SWEEP_REPAIRS.labels(kind=repair.kind).inc()
            log.warning(
                "sweep repaired", kind=repair.kind, interview_id=repair.interview_id, operation_id=repair.operation_id
            )
        return repairs

    async def _overdue(self, interviews: list[Interview], now: datetime) -> list[Repair]:
        repairs = []
        for interview in interviews:
            if interview.status in _GONE or now <= interview.auto_destroy_at + self._rules.overdue_grace:
                continue
            operation_id = derived_operation_id("overdue", interview.id, iso(interview.auto_destroy_at))
            outcome = await request_destroy(
                self._recorder,
                self._commands,
                interview.id,
                operation_id=operation_id,
                reason="auto_destroy",
                created_by="scheduler",
            )
            if isinstance(outcome, DestroyRequested):
                await self._recorder.log(
                    outcome.operation, f"Overdue: auto-destroy was due at {iso(interview.auto_destroy_at)}"
                )
                repairs.append(Repair("overdue_destroy", interview.id, operation_id))
        return repairs

    async def _hung(self, now: datetime) -> list[Repair]:
        store = self._recorder.store
        repairs = []
        for operation in await store.operations.list_active():
            interview = await store.interviews.get(operation.interview_id)
            if not self._is_hung(operation, interview, now):
                continue
            minutes = self._rules.hung_after.total_seconds() / 60
            moved = await self._recorder.operation_to(
                operation.id,
                OperationStatus.FAILED,
                completed_at=now,
                result=OperationResult(success=False, error="no worker reported on it"),
            )
            if not moved.changed or moved.record is None:
                continue
            await self._recorder.log(
                moved.record, f"❌ No worker has reported on this operation for over {minutes:.0f} min: marked failed"
            )
            if interview is not None and interview.status not in _GONE:
                await self._recorder.interview_to(interview.id, InterviewStatus.ERROR)
            cleanup_id = derived_operation_id("hung-cleanup", operation.id)
            await request_cleanup(
                self._recorder, self._commands, operation.interview_id, operation_id=cleanup_id, why="hung operation"
            )
            repairs.append(Repair("hung_operation", operation.interview_id, operation.id))
        return repairs

    def _is_hung(self, operation: Operation, interview: Interview | None, now: datetime) -> bool:
        limit = self._rules.hung_after
        if operation.status == OperationStatus.RUNNING:
            last = operation.heartbeat_at or operation.started_at or operation.created_at
            return now - last > limit
        # pending: a create whose command was never picked up (not one waiting for its scheduled start)
        waiting = interview is not None and interview.status == InterviewStatus.SCHEDULED
        return operation.type == OperationType.CREATE and not waiting and now - operation.created_at > limit

    async def _orphans_and_drift(self, interviews: list[Interview]) -> list[Repair]:
        if self._states is None or not self._states.root.is_dir():
            return []  # no view of the states (yet): never guess drift from an empty listing
        by_id = {i.id: i for i in interviews}
        repairs = []
        with_state = set(self._states.with_resources())
        for interview_id in sorted(with_state):
            interview = by_id.get(interview_id)
            if interview is not None and interview.status != InterviewStatus.DESTROYED:
                continue
            operation_id = derived_operation_id("orphan", interview_id)
            await request_cleanup(
                self._recorder, self._commands, interview_id, operation_id=operation_id, why="no live interview owns it"
            )
            repairs.append(Repair("orphan_destroy", interview_id, operation_id))
        for interview in interviews:
            if interview.status == InterviewStatus.ACTIVE and interview.id not in with_state:
                moved = await self._recorder.interview_to(interview.id, InterviewStatus.ERROR)
                create = await self._recorder.store.operations.get(interview.create_operation_id or "")
                if moved.changed and create is not None:
                    await self._recorder.log(
                        create, "❌ Drift: the interview was active but its infrastructure is gone"
                    )
                log.warning("drift: active interview without infrastructure", interview_id=interview.id)
        return repairs
