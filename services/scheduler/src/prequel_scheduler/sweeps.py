"""Periodic repairs, each logged and emitted as a ``scheduler_event``:

- overdue: an interview past ``autoDestroyAt`` + grace that is not destroyed and has no destroy pending or
  running → a destroy. A destroy that failed gives its slot to a retry with a new operation id (derived from the
  failed one), so every round that finds the interview still alive leads to a destroy that actually runs (after a
  back-off that doubles with each failed attempt, ``PREQUEL_DESTROY_RETRY_S`` up to ``..._MAX_S``);
- hung: an operation no worker will ever finish → ``failed`` with a log line, interview ``error``, cleanup destroy.
  Hung means *running* with no live worker lease (``<prefix>:lease:<operationId>``, held and renewed by the
  provisioner running it) and no heartbeat for ``hung_after``; or *pending* for ``hung_after`` with no command for
  it on the work queue at all (lost: nothing would ever run it). A pending operation whose command is queued (behind
  the provisioners' concurrency cap, or while every provisioner is down) is not hung: it runs when a worker frees up;
- orphans: a Terraform state holding resources with no live interview → a cleanup destroy, retried (new id per
  attempt, same back-off) while the state still holds resources;
- drift: an ``active`` interview whose state is empty → ``error`` with a log line.

Only a round that creates a new operation (or changes a status) logs and emits; a repair already under way is left
alone. Safe with several replicas: one round at a time holds a Redis lease, and every repair uses ids derived from
what it repairs, so two replicas asking for the same repair agree on one operation.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from prequel_common.bus import CommandPublisher
from prequel_common.clock import iso, utcnow
from prequel_common.events import SchedulerAction, SchedulerEvent, SchedulerEventBody
from prequel_common.ids import derived_operation_id
from prequel_common.lifecycle import DestroyRequested, request_cleanup, request_destroy
from prequel_common.models import Interview, Operation, OperationResult
from prequel_common.recorder import Recorder
from prequel_common.status import OPERATION_ACTIVE, InterviewStatus, OperationStatus, OperationType
from prequel_common.store import TimerKind
from prequel_common.store.scripts import load_script
from prequel_common.subjects import COMMANDS_STREAM, command_subject
from prequel_common.tfstate import States, StatesUnavailable

from prequel_scheduler.metrics import SWEEP_REPAIRS

log = structlog.get_logger(__name__)
#: how many cleanup attempts of one orphan are looked through (each failed one is an operation record)
_MAX_ATTEMPTS = 1000


@dataclass(frozen=True)
class SweepRules:
    overdue_grace: timedelta = timedelta(seconds=60)
    hung_after: timedelta = timedelta(minutes=5)
    #: wait after a failed destroy before the next attempt, doubled per failed attempt, capped
    retry_backoff: timedelta = timedelta(seconds=15)
    retry_backoff_max: timedelta = timedelta(minutes=10)

    def retry_wait(self, failed_attempts: int) -> timedelta:
        if failed_attempts <= 0:
            return timedelta(0)
        wait: timedelta = self.retry_backoff * 2 ** min(failed_attempts - 1, 30)
        return min(self.retry_backoff_max, wait)


@dataclass(frozen=True)
class Repair:
    kind: SchedulerAction
    interview_id: str
    operation_id: str | None


class CommandQueue(Protocol):
    async def holds(self, subject: str) -> bool:
        """True when a command on ``subject`` is on the work queue (waiting, or being run and not yet acked)."""
        ...


class JetStreamQueue:
    """The commands work-queue stream: a message stays there until its run ends and it is acked."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def holds(self, subject: str) -> bool:
        try:
            await self._js.get_last_msg(COMMANDS_STREAM, subject)
        except NotFoundError:
            return False
        return True


def lease_key(prefix: str, operation_id: str) -> str:
    """The provisioner's lease on a running operation (prequel_provisioner.lease): present while its worker lives."""
    return f"{prefix}:lease:{operation_id}"


def _subject(operation: Operation) -> str:
    return command_subject("create" if operation.type == OperationType.CREATE else "destroy", operation.interview_id)


class Sweeper:
    def __init__(
        self,
        recorder: Recorder,
        commands: CommandPublisher,
        rules: SweepRules,
        states: States | None,
        queue: CommandQueue | None = None,
    ) -> None:
        self._recorder = recorder
        self._commands = commands
        self._rules = rules
        self._states = states
        #: without a view of the queue, a pending operation is never taken for hung
        self._queue = queue
        self._transition = load_script(recorder.store.redis, "transition")

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
            *await self._orphans_and_drift(interviews, now),
        ]
        for repair in repairs:
            event = SchedulerEvent(
                event=SchedulerEventBody(
                    type=repair.kind, operation_id=repair.operation_id, interview_id=repair.interview_id
                )
            )
            msg_id = f"sweep-{repair.kind}-{repair.operation_id or repair.interview_id}"
            await self._recorder.scheduler_event(event, msg_id=msg_id)
            SWEEP_REPAIRS.labels(kind=repair.kind).inc()
            log.warning(
                "sweep repaired", kind=repair.kind, interview_id=repair.interview_id, operation_id=repair.operation_id
            )
        return repairs

    # -- overdue -----------------------------------------------------------------------------------------------

    async def _overdue(self, interviews: list[Interview], now: datetime) -> list[Repair]:
        repairs = []
        for interview in interviews:
            overdue = now > interview.auto_destroy_at + self._rules.overdue_grace
            if interview.status == InterviewStatus.DESTROYED or not overdue:
                continue
            repair = await self._overdue_one(interview, now)
            if repair is not None:
                repairs.append(repair)
        return repairs

    async def _overdue_one(self, interview: Interview, now: datetime) -> Repair | None:
        store = self._recorder.store
        deadline = iso(interview.auto_destroy_at)
        holder_id = interview.destroy_operation_id
        holder = await store.operations.get(holder_id) if holder_id else None
        if holder is not None and holder.status in OPERATION_ACTIVE:
            return None  # a destroy is under way (a hung one is failed by the hung sweep, then retried here)
        if holder_id and holder is None:
            # the slot was claimed but the operation never recorded (a crash in between): finish that request
            operation_id, why = holder_id, f"Overdue: auto-destroy was due at {deadline}"
        elif holder is not None:
            # the last destroy failed (or was cancelled), or ended while the interview still is not destroyed
            failed = await self._failed_destroys(interview.id)
            finished = holder.completed_at or holder.created_at
            if now - finished < self._rules.retry_wait(failed):
                return None
            operation_id = derived_operation_id("overdue", interview.id, deadline, holder.id)
            why = f"Overdue: auto-destroy was due at {deadline}; retrying after destroy {holder.id} {holder.status}"
        else:
            operation_id = derived_operation_id("overdue", interview.id, deadline)
            why = f"Overdue: auto-destroy was due at {deadline}"
        outcome = await request_destroy(
            self._recorder,
            self._commands,
            interview.id,
            operation_id=operation_id,
            reason="auto_destroy",
            created_by="scheduler",
            why="overdue: auto-destroy time passed",
        )
        if not (isinstance(outcome, DestroyRequested) and outcome.created):
            return None  # someone else's destroy holds the slot, or this one was queued already
        await self._recorder.log(outcome.operation, why)
        return Repair("overdue_destroy", interview.id, operation_id)

    async def _failed_destroys(self, interview_id: str) -> int:
        operations = await self._recorder.store.operations.list_all(interview_id)
        return sum(
            1
            for o in operations
            if o.type == OperationType.DESTROY and o.status in (OperationStatus.FAILED, OperationStatus.CANCELLED)
        )

    # -- hung --------------------------------------------------------------------------------------------------

    async def _hung(self, now: datetime) -> list[Repair]:
        store = self._recorder.store
        repairs = []
        for operation in await store.operations.list_active():
            reason = await self._hung_reason(operation, now)
            if reason is None:
                continue
            moved = await self._recorder.operation_to(
                operation.id,
                OperationStatus.FAILED,
                only_from=frozenset({operation.status}),
                completed_at=now,
                result=OperationResult(success=False, error=reason),
            )
            if not moved.changed or moved.record is None:
                continue  # it moved on meanwhile
            minutes = self._rules.hung_after.total_seconds() / 60
            await self._recorder.log(moved.record, f"❌ Hung ({minutes:g} min): {reason}; marked failed")
            await self._clean_up_after_hung(moved.record)
            repairs.append(Repair("hung_operation", operation.interview_id, operation.id))
        return repairs

    async def _hung_reason(self, operation: Operation, now: datetime) -> str | None:
        store = self._recorder.store
        limit = self._rules.hung_after
        if operation.status == OperationStatus.RUNNING:
            last = operation.heartbeat_at or operation.started_at or operation.created_at
            if now - last <= limit:
                return None
            if await store.redis.exists(lease_key(store.keys.prefix, operation.id)):
                return None  # its worker is alive (a heartbeat write was late or lost)
            return "no worker holds it (its lease expired) and none has reported on it since " + iso(last)
        if self._queue is None or now - operation.created_at <= limit:
            return None
        if operation.type == OperationType.CREATE and await store.timers.get(TimerKind.START, operation.interview_id):
            return None  # waiting for its scheduled start: the start timer publishes its command
        if await self._queue.holds(_subject(operation)):
            return None  # queued: it runs when a worker frees up
        return "pending with no command on the work queue: no worker would ever run it"

    async def _clean_up_after_hung(self, operation: Operation) -> None:
        """Destroy whatever the hung operation may have left: as the interview's destroy (taking a failed holder's
        slot) while the interview lives, as a cleanup of its own once it is destroyed or gone."""
        store = self._recorder.store
        cleanup_id = derived_operation_id("hung-cleanup", operation.id)
        interview = await store.interviews.get(operation.interview_id)
        why = f"cleanup after hung operation {operation.id}"
        if interview is None or interview.status == InterviewStatus.DESTROYED:
            await request_cleanup(
                self._recorder, self._commands, operation.interview_id, operation_id=cleanup_id, why=why
            )
            return
        if interview.status != InterviewStatus.DESTROYING:
            await self._recorder.interview_to(interview.id, InterviewStatus.ERROR)
        # refused when a live destroy holds the slot: that one destroys the interview
        await request_destroy(
            self._recorder,
            self._commands,
            interview.id,
            operation_id=cleanup_id,
            reason="cleanup",
            created_by="scheduler",
            why=why,
        )

    # -- orphans and drift -------------------------------------------------------------------------------------

    async def _orphans_and_drift(self, interviews: list[Interview], now: datetime) -> list[Repair]:
        if self._states is None:
            return []
        try:
            with_state = set(await asyncio.to_thread(self._states.with_resources))
        except StatesUnavailable as exc:
            # no view of the states (yet): never guess drift or orphans from an empty listing
            log.info("states not readable; orphan and drift sweeps skipped this round", reason=str(exc))
            return []
        by_id = {i.id: i for i in interviews}
        repairs = []
        for interview_id in sorted(with_state):
            interview = by_id.get(interview_id) or await self._recorder.store.interviews.get(interview_id)
            if interview is not None and interview.status != InterviewStatus.DESTROYED:
                continue  # live (or created since the listing began)
            repair = await self._orphan(interview_id, now)
            if repair is not None:
                repairs.append(repair)
        for interview in interviews:
            if interview.status == InterviewStatus.ACTIVE and interview.id not in with_state:
                repair = await self._drift(interview)
                if repair is not None:
                    repairs.append(repair)
        return repairs

    async def _orphan(self, interview_id: str, now: datetime) -> Repair | None:
        """Attempt n of an orphan's cleanup has the id derived from (interview, n): the first attempt not yet made
        is made once the previous one ended (failed, or finished while the state still holds resources)."""
        store = self._recorder.store
        previous: Operation | None = None
        for attempt in range(_MAX_ATTEMPTS):
            operation_id = derived_operation_id("orphan", interview_id, str(attempt))
            operation = await store.operations.get(operation_id)
            if operation is None:
                break
            if operation.status in OPERATION_ACTIVE:
                return None  # a cleanup is under way
            previous = operation
        else:
            log.error("orphan: too many failed cleanups; giving up on it", interview_id=interview_id)
            return None
        if previous is not None:
            finished = previous.completed_at or previous.created_at
            if now - finished < self._rules.retry_wait(attempt):
                return None
        why = "no live interview owns it" + (f"; retrying after {previous.id} {previous.status}" if previous else "")
        outcome = await request_cleanup(
            self._recorder, self._commands, interview_id, operation_id=operation_id, why=why
        )
        return Repair("orphan_destroy", interview_id, operation_id) if outcome.created else None

    async def _drift(self, interview: Interview) -> Repair | None:
        assert self._states is not None
        try:  # read this one state again: the listing may be older than a create that just wrote it
            if await asyncio.to_thread(self._states.has_resources, interview.id):
                return None
        except StatesUnavailable:
            return None
        moved = await self._interview_from(interview.id, InterviewStatus.ERROR, InterviewStatus.ACTIVE)
        if moved is None:
            return None  # not active any more (e.g. being destroyed, which empties the state): not drift
        create = await self._recorder.store.operations.get(interview.create_operation_id or "")
        if create is not None:
            await self._recorder.log(create, "❌ Drift: the interview was active but its infrastructure is gone")
        log.warning("drift: active interview without infrastructure", interview_id=interview.id)
        return Repair("drift", interview.id, interview.create_operation_id)

    async def _interview_from(
        self, interview_id: str, target: InterviewStatus, current: InterviewStatus
    ) -> Interview | None:
        """Move an interview to ``target`` only from ``current`` (atomically), and announce it; None when refused."""
        store = self._recorder.store
        code, _ = await self._transition(
            keys=[store.keys.interview(interview_id), ""], args=[interview_id, str(target), f",{current},", "0"]
        )
        if code != 1:
            return None
        record = await store.interviews.get(interview_id)
        if record is not None:
            await self._recorder.announce_interview(record)
        return record
