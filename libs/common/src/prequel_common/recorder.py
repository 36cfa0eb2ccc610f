"""The one way services change state: write the record atomically, then publish the event.

The process that performs a transition writes it, then tells the world; a refused transition publishes nothing.
"""

from __future__ import annotations

import structlog

from prequel_common.bus import EventPublisher
from prequel_common.clock import iso, utcnow
from prequel_common.events import InterviewUpdate, LogLine, OperationLog, OperationUpdate, SchedulerEvent
from prequel_common.metrics import OPERATIONS_FINISHED
from prequel_common.models import Interview, Operation
from prequel_common.status import OPERATION_FINAL, InterviewStatus, OperationStatus
from prequel_common.store import Store, Transition
from prequel_common.subjects import (
    interview_event_subject,
    log_event_subject,
    operation_event_subject,
    scheduler_event_subject,
)
from prequel_common.views import InterviewView, OperationView

log = structlog.get_logger(__name__)


def log_line(message: str) -> str:
    """The spec's log line form: ``[2024-01-15T09:00:00Z] message``."""
    return f"[{iso(utcnow())}] {message}"


class Recorder:
    def __init__(self, store: Store, events: EventPublisher) -> None:
        self.store = store
        self.events = events

    async def interview_to(self, interview_id: str, target: InterviewStatus, **fields: object) -> Transition[Interview]:
        result = await self.store.interviews.transition(interview_id, target, **fields)
        if result.changed and result.record is not None:
            await self.announce_interview(result.record)
        elif not result.already:
            log.info("interview transition refused", interview_id=interview_id, target=target, current=result.previous)
        return result

    async def operation_to(
        self,
        operation_id: str,
        target: OperationStatus,
        *,
        only_from: frozenset[OperationStatus] | None = None,
        **fields: object,
    ) -> Transition[Operation]:
        result = await self.store.operations.transition(operation_id, target, only_from=only_from, **fields)
        if result.changed and result.record is not None:
            if target in OPERATION_FINAL:
                OPERATIONS_FINISHED.labels(type=str(result.record.type), outcome=str(target)).inc()
            await self.announce_operation(result.record)
        elif not result.already:
            log.info("operation transition refused", operation_id=operation_id, target=target, current=result.previous)
        return result

    async def announce_interview(self, interview: Interview) -> None:
        event = InterviewUpdate(interview=InterviewView.of(interview, with_password=False))
        await self.events.publish(interview_event_subject(interview.id), event, correlation_id=interview.id)

    async def announce_operation(self, operation: Operation) -> None:
        event = OperationUpdate(operation=OperationView.of(operation, with_password=False))
        await self.events.publish(operation_event_subject(operation.id), event, correlation_id=operation.id)

    async def add_operation(self, operation: Operation) -> bool:
        added = await self.store.operations.add(operation)
        if added:
            await self.announce_operation(operation)
        return added

    async def log(self, operation: Operation, *messages: str) -> None:
        """Append formatted lines to the operation's log and publish them as one event."""
        await self.log_lines(operation, [log_line(m) for m in messages])

    async def log_lines(self, operation: Operation, lines: list[str]) -> None:
        if not lines:
            return
        first = await self.store.logs.append(operation.id, lines)
        event = OperationLog(
            operation_id=operation.id,
            interview_id=operation.interview_id,
            lines=[LogLine(id=first + i, line=line) for i, line in enumerate(lines)],
        )
        await self.events.publish(log_event_subject(operation.id), event, correlation_id=operation.id)

    async def scheduler_event(self, event: SchedulerEvent, *, msg_id: str | None) -> None:
        await self.events.publish(
            scheduler_event_subject(event.event.interview_id),
            event,
            correlation_id=event.event.interview_id,
            msg_id=msg_id,
        )
