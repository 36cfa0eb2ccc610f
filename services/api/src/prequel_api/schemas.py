"""Request and response bodies of the spec (``../shared/spec/prequel-portal-api.md``)."""

from __future__ import annotations

from prequel_common.intake import InterviewRequest
from prequel_common.models import CamelModel, UtcTime
from prequel_common.views import InterviewView, OperationView
from pydantic import ConfigDict, Field, StrictInt


class CreateInterviewRequest(InterviewRequest):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {"candidateName": "Jane Smith", "challenge": "python", "autoDestroyMinutes": 90},
            ]
        },
    )


class CreateInterviewResponse(CamelModel):
    operation_id: str
    interview_id: str
    candidate_name: str
    challenge: str
    password: str
    scheduled_at: UtcTime | None = None
    auto_destroy_at: UtcTime
    message: str


class ExtendRequest(CamelModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{"minutes": 30}]})

    minutes: StrictInt = Field(ge=1, le=24 * 60, description="How many minutes later the interview is destroyed")


class ExtendResponse(CamelModel):
    interview_id: str
    auto_destroy_at: UtcTime
    message: str


class InterviewList(CamelModel):
    interviews: list[InterviewView]


class DestroyResponse(CamelModel):
    operation_id: str
    interview_id: str
    message: str


class OperationDetail(OperationView):
    logs: list[str]


class OperationList(CamelModel):
    operations: list[OperationDetail]


class LogsResponse(CamelModel):
    logs: list[str]


class CancelResponse(CamelModel):
    success: bool
    message: str


class Challenge(CamelModel):
    id: str
    name: str


class ChallengeList(CamelModel):
    success: bool = True
    challenges: list[Challenge]


class ErrorBody(CamelModel):
    error: str
    details: str | None = None
    operation_id: str | None = None
