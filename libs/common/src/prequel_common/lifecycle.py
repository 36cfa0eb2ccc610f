"""Asking for a destroy: shared by the api (a user's request) and the scheduler (auto-destroy).

One destroy operation per interview (an atomic claim in Redis); a create still pending is cancelled at once and a
running one is asked to stop, so the destroy that follows finds the Terraform state free.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from prequel_common.bus import CommandPublisher
from prequel_common.clock import iso, utcnow
from prequel_common.commands import DestroyInterview
from prequel_common.events import SchedulerEvent, SchedulerEventBody
from prequel_common.models import Interview, Operation
from prequel_common.recorder import Recorder
from prequel_common.status import OPERATION_ACTIVE, InterviewStatus, OperationStatus, OperationType
from prequel_common.store import TimerKind

_PENDING = frozenset({OperationStatus.PENDING})


@dataclass(frozen=True)
class DestroyRequested:
    operation: Operation
    #: False when this operation existed already (a repeated request): nothing new was queued or logged, only its
    #: command published again (JetStream's dedupe window drops it; the provisioner ignores a finished operation)
    created: bool = True


@dataclass(frozen=True)
class DestroyConflict:
    """Another destroy holds the interview (pending, running or done), or the interview is destroyed already:
    ``operation_id`` is then its last operation (its destroy, or the create whose cancel ended it)."""

    operation_id: str
    status: str


@dataclass(frozen=True)
class InterviewNotFound:
    interview_id: str


DestroyOutcome = DestroyRequested | DestroyConflict | InterviewNotFound
DestroyReason = Literal["requested", "auto_destroy", "cleanup"]


async def request_destroy(
    recorder: Recorder,
    commands: CommandPublisher,
    interview_id: str,
    *,
    operation_id: str,
    reason: DestroyReason,
    created_by: str | None = None,
    why: str | None = None,
) -> DestroyOutcome:
    """Reserve the interview's one destroy for ``operation_id`` and queue it. A destroyed interview is refused
    (:class:`DestroyConflict`) however it got there; a holder that ended (failed) gives its slot to a retry."""
    store = recorder.store
    interview = await store.interviews.get(interview_id)
    if interview is None:
        return InterviewNotFound(interview_id)
    claimed, holder = await store.claim_destroy(interview_id, operation_id)
    if not claimed:
        current = await store.interviews.get(interview_id)  # its status now, for the message (it may have moved)
        if current is None:
            return InterviewNotFound(interview_id)
        return DestroyConflict(operation_id=holder or "", status=current.status)
    operation = Operation(
        id=operation_id,
        type=OperationType.DESTROY,
        status=OperationStatus.PENDING,
        interview_id=interview.id,
        candidate_name=interview.candidate_name,
        challenge=interview.challenge,
        created_at=utcnow(),
        scheduled_at=interview.scheduled_at,
        auto_destroy_at=interview.auto_destroy_at,
        created_by=created_by,
    )
    created = await recorder.add_operation(operation)
    if created:
        if why is None:
            why = "auto-destroy time reached" if reason == "auto_destroy" else f"requested by {created_by or 'system'}"
        await recorder.log(operation, f"Destroy of interview {interview.id} queued ({why})")
    await _stop_create(recorder, interview)
    await commands.publish(DestroyInterview(operation_id=operation_id, interview_id=interview_id, reason=reason))
    return DestroyRequested(operation, created=created)


async def _stop_create(recorder: Recorder, interview: Interview) -> None:
    store = recorder.store
    timer = await store.timers.get(TimerKind.START, interview.id)
    if timer is not None:
        await store.timers.remove(timer)
    if not interview.create_operation_id:
        return
    create = await store.operations.get(interview.create_operation_id)
    if create is None or create.status not in OPERATION_ACTIVE:
        return
    if create.status == OperationStatus.PENDING:
        moved = await recorder.operation_to(
            create.id, OperationStatus.CANCELLED, only_from=_PENDING, completed_at=utcnow()
        )
        if moved.changed and moved.record is not None:
            await recorder.log(moved.record, "Cancelled: the interview is being destroyed before it started")
            return
    # running (or it just started): ask the worker holding it to stop
    await store.operations.request_cancel(create.id, "interview destroyed")


@dataclass(frozen=True)
class CancelDone:
    message: str


@dataclass(frozen=True)
class CancelRefused:
    reason: str


CancelOutcome = CancelDone | CancelRefused


async def cancel_operation(recorder: Recorder, operation: Operation, *, by: str) -> CancelOutcome:
    """Cancel a pending or running create. A pending one ends at once (its interview has no infrastructure yet);
    a running one is stopped by the worker holding it, which then destroys what was partly created.
    Destroys are never cancelled: an environment must not outlive its deadline."""
    if operation.type == OperationType.DESTROY:
        return CancelRefused("destroy operations cannot be cancelled")
    if operation.status not in (OperationStatus.PENDING, OperationStatus.RUNNING):
        return CancelRefused(f"operation is {operation.status}; only pending or running operations can be cancelled")
    store = recorder.store
    if operation.status == OperationStatus.PENDING:
        # only from pending: a worker may have started it since it was read, and then it must be stopped instead
        moved = await recorder.operation_to(
            operation.id, OperationStatus.CANCELLED, only_from=_PENDING, completed_at=utcnow()
        )
        if moved.changed and moved.record is not None:
            await recorder.log(moved.record, f"Cancelled by {by} before it started")
            await store.timers.remove_all(operation.interview_id)
            interview = await store.interviews.get(operation.interview_id)
            if interview is not None and interview.status != InterviewStatus.SCHEDULED:
                await recorder.interview_to(operation.interview_id, InterviewStatus.DESTROYING)
            await recorder.interview_to(operation.interview_id, InterviewStatus.DESTROYED)
            return CancelDone("Operation cancelled successfully")
    await store.operations.request_cancel(operation.id, f"cancelled by {by}")
    await recorder.log(operation, f"Cancellation requested by {by}: stopping the run and cleaning up")
    return CancelDone("Operation cancellation requested: the run stops and its partial environment is destroyed")


EXTENDABLE = frozenset(
    {InterviewStatus.SCHEDULED, InterviewStatus.INITIALIZING, InterviewStatus.CONFIGURING, InterviewStatus.ACTIVE}
)


@dataclass(frozen=True)
class Extended:
    interview: Interview


@dataclass(frozen=True)
class ExtendRefused:
    """409: the interview is not in a state that can be extended."""

    status: str


@dataclass(frozen=True)
class ExtendTooLong:
    """400: the whole lifetime would exceed the maximum."""

    lifetime_minutes: float
    max_minutes: int


ExtendOutcome = Extended | ExtendRefused | ExtendTooLong | InterviewNotFound


async def extend(recorder: Recorder, interview_id: str, minutes: int, *, max_minutes: int, by: str) -> ExtendOutcome:
    """Move the auto-destroy ``minutes`` later (and its timer, atomically); the lifetime from the start (scheduled
    or creation time) to the new deadline never exceeds ``max_minutes``."""
    store = recorder.store
    for _ in range(5):  # compare-and-set: retry when another extend won the race
        interview = await store.interviews.get(interview_id)
        if interview is None:
            return InterviewNotFound(interview_id)
        if interview.status not in EXTENDABLE:
            return ExtendRefused(interview.status)
        if interview.destroy_operation_id:
            destroy = await store.operations.get(interview.destroy_operation_id)
            if destroy is not None and destroy.status not in (OperationStatus.FAILED, OperationStatus.CANCELLED):
                return ExtendRefused("being destroyed")
        start = interview.scheduled_at or interview.created_at
        deadline = interview.auto_destroy_at + timedelta(minutes=minutes)
        lifetime = (deadline - start).total_seconds() / 60
        if lifetime > max_minutes:
            return ExtendTooLong(lifetime, max_minutes)
        code, status = await store.extend(interview, deadline, EXTENDABLE)
        if code == -1:
            return InterviewNotFound(interview_id)
        if code == 0:
            return ExtendRefused(status)
        if code == 1:
            updated = await store.interviews.get(interview_id)
            assert updated is not None
            await recorder.announce_interview(updated)
            body = SchedulerEventBody(
                type="extended", operation_id=updated.create_operation_id, interview_id=updated.id
            )
            await recorder.scheduler_event(SchedulerEvent(event=body), msg_id=None)
            create = await store.operations.get(updated.create_operation_id or "")
            if create is not None:
                await recorder.log(create, f"Auto-destroy moved {minutes} min later, to {iso(deadline)}, by {by}")
            return Extended(updated)
    return ExtendRefused("busy: too many concurrent changes, retry")


async def request_cleanup(
    recorder: Recorder, commands: CommandPublisher, interview_id: str, *, operation_id: str, why: str
) -> DestroyRequested:
    """Destroy infrastructure that no live interview owns (an orphan): a destroy operation of its own, run by the
    provisioner even when the interview's record is gone. It takes no destroy slot (there is no live interview to
    hold one); ``created`` is False when ``operation_id`` existed already (nothing new was queued)."""
    interview = await recorder.store.interviews.get(interview_id)
    operation = Operation(
        id=operation_id,
        type=OperationType.DESTROY,
        status=OperationStatus.PENDING,
        interview_id=interview_id,
        candidate_name=interview.candidate_name if interview else "(unknown)",
        challenge=interview.challenge if interview else "(unknown)",
        created_at=utcnow(),
        created_by="scheduler",
    )
    created = await recorder.add_operation(operation)
    if created:
        await recorder.log(operation, f"Cleanup destroy of {interview_id} queued: {why}")
    await commands.publish(DestroyInterview(operation_id=operation_id, interview_id=interview_id, reason="cleanup"))
    return DestroyRequested(operation, created=created)
