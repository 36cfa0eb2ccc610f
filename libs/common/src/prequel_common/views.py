"""Public shapes of the spec, shared by the API (responses) and the events (payloads)."""

from __future__ import annotations

from prequel_common.models import CamelModel, Interview, Operation, OperationResult, UtcTime
from prequel_common.status import InterviewStatus, OperationStatus, OperationType


class InterviewView(CamelModel):
    id: str
    candidate_name: str
    challenge: str
    status: InterviewStatus
    access_url: str | None = None
    password: str | None = None
    created_at: UtcTime
    scheduled_at: UtcTime | None = None
    auto_destroy_at: UtcTime
    created_by: str | None = None

    @classmethod
    def of(cls, interview: Interview, *, with_password: bool = True) -> InterviewView:
        view = cls.model_validate(interview.model_dump())
        return view if with_password else view.model_copy(update={"password": None})


class OperationView(CamelModel):
    id: str
    type: OperationType
    status: OperationStatus
    interview_id: str
    candidate_name: str
    challenge: str
    started_at: UtcTime | None = None
    completed_at: UtcTime | None = None
    scheduled_at: UtcTime | None = None
    auto_destroy_at: UtcTime | None = None
    created_by: str | None = None
    result: OperationResult | None = None

    @classmethod
    def of(cls, operation: Operation, *, with_password: bool = True) -> OperationView:
        view = cls.model_validate(operation.model_dump())
        if not with_password and view.result is not None:
            view = view.model_copy(update={"result": view.result.without_secrets()})
        return view


class OperationSummary(CamelModel):
    """The short form used by the ``operation_status`` event."""

    id: str
    type: OperationType
    status: OperationStatus
    interview_id: str
    candidate_name: str
    scheduled_at: UtcTime | None = None
    auto_destroy_at: UtcTime | None = None

    @classmethod
    def of(cls, operation: Operation) -> OperationSummary:
        return cls.model_validate(operation.model_dump())
