"""What a due timer does. Each is safe to run twice or on two replicas at once: command and event ids are
derived from the timer, JetStream drops the duplicates, and the state machine refuses a second transition."""

from __future__ import annotations

import structlog
from prequel_common.bus import CommandPublisher
from prequel_common.clock import utcnow
from prequel_common.commands import CreateInterview
from prequel_common.events import SchedulerEvent, SchedulerEventBody
from prequel_common.ids import derived_operation_id
from prequel_common.lifecycle import DestroyConflict, DestroyRequested, request_destroy
from prequel_common.recorder import Recorder
from prequel_common.status import InterviewStatus, OperationStatus
from prequel_common.store import Timer, TimerKind

from prequel_scheduler.metrics import LATENESS

log = structlog.get_logger(__name__)


async def fire(recorder: Recorder, commands: CommandPublisher, timer: Timer) -> None:
    with structlog.contextvars.bound_contextvars(interview_id=timer.interview_id):
        if timer.kind == TimerKind.START:
            await _start(recorder, commands, timer)
        else:
            await _auto_destroy(recorder, commands, timer)
        await recorder.store.timers.remove(timer)


async def _start(recorder: Recorder, commands: CommandPublisher, timer: Timer) -> None:
    interview = await recorder.store.interviews.get(timer.interview_id)
    if interview is None or interview.status != InterviewStatus.SCHEDULED or not interview.create_operation_id:
        log.info("scheduled start skipped", status=getattr(interview, "status", None))
        return
    operation = await recorder.store.operations.get(interview.create_operation_id)
    if operation is None or operation.status != OperationStatus.PENDING:
        return
    await commands.publish(CreateInterview(operation_id=operation.id, interview_id=interview.id))
    if await recorder.store.first_time(f"{timer.member}:{int(timer.due.timestamp())}"):
        await recorder.log(
            operation, f"Scheduled start time reached: starting interview creation for {interview.candidate_name}"
        )
    event = SchedulerEvent(
        event=SchedulerEventBody(type="scheduled_start", operation_id=operation.id, interview_id=interview.id)
    )
    await recorder.scheduler_event(event, msg_id=f"sched-start-{interview.id}")
    log.info("scheduled start fired", operation_id=operation.id, lateness_s=_lateness(timer))


async def _auto_destroy(recorder: Recorder, commands: CommandPublisher, timer: Timer) -> None:
    interview = await recorder.store.interviews.get(timer.interview_id)
    if interview is None or interview.status == InterviewStatus.DESTROYED:
        return
    operation_id = derived_operation_id("auto-destroy", interview.id)
    outcome = await request_destroy(
        recorder, commands, interview.id, operation_id=operation_id, reason="auto_destroy", created_by="scheduler"
    )
    if isinstance(outcome, DestroyConflict) and outcome.operation_id != operation_id:
        log.info("auto-destroy: a destroy is already under way", holder=outcome.operation_id)
        return
    if isinstance(outcome, DestroyRequested | DestroyConflict):
        event = SchedulerEvent(
            event=SchedulerEventBody(type="auto_destroy", operation_id=operation_id, interview_id=interview.id)
        )
        await recorder.scheduler_event(event, msg_id=f"sched-destroy-{interview.id}")
        log.info("auto-destroy fired", operation_id=operation_id, lateness_s=_lateness(timer))


def _lateness(timer: Timer) -> float:
    lateness = (utcnow() - timer.due).total_seconds()
    LATENESS.labels(kind=str(timer.kind)).observe(max(0.0, lateness))
    return round(lateness, 3)
