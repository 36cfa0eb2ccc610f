"""Events: what happened, on the events stream; the gateway forwards them to browsers as they are.

The JSON of each event is exactly the SSE ``data:`` payload of the spec. ``operation_update`` and
``scheduler_event`` are the spec's; ``interview_update`` and ``operation_log`` are our additions (see
docs/architecture.md). No event ever carries a password.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from prequel_common.clock import utcnow
from prequel_common.models import CamelModel, UtcTime
from prequel_common.views import InterviewView, OperationSummary, OperationView


class _Event(CamelModel):
    timestamp: UtcTime = Field(default_factory=utcnow)


class OperationUpdate(_Event):
    type: Literal["operation_update"] = "operation_update"
    operation: OperationView


class InterviewUpdate(_Event):
    type: Literal["interview_update"] = "interview_update"
    interview: InterviewView


class LogLine(CamelModel):
    id: int
    line: str


class OperationLog(_Event):
    type: Literal["operation_log"] = "operation_log"
    operation_id: str
    interview_id: str
    lines: list[LogLine]


#: the spec's six actions, plus ``drift`` (ours: an active interview whose Terraform state is empty was marked
#: ``error``; ``operationId`` is its create operation, whose log says so)
SchedulerAction = Literal[
    "scheduled_start", "auto_destroy", "extended", "overdue_destroy", "orphan_destroy", "hung_operation", "drift"
]


class SchedulerEventBody(CamelModel):
    type: SchedulerAction
    operation_id: str | None = None
    interview_id: str


class SchedulerEvent(_Event):
    type: Literal["scheduler_event"] = "scheduler_event"
    event: SchedulerEventBody


class OperationStatusEvent(_Event):
    """Built by the gateway from current state every few seconds; never on the stream."""

    type: Literal["operation_status"] = "operation_status"
    operations: list[OperationSummary]


class ConnectionEvent(_Event):
    type: Literal["connection"] = "connection"


class HeartbeatEvent(_Event):
    type: Literal["heartbeat"] = "heartbeat"


StreamEvent = Annotated[OperationUpdate | InterviewUpdate | OperationLog | SchedulerEvent, Field(discriminator="type")]
STREAM_EVENT_ADAPTER: TypeAdapter[OperationUpdate | InterviewUpdate | OperationLog | SchedulerEvent] = TypeAdapter(
    StreamEvent
)
