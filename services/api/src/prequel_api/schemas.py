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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "operationId": "op-3f2a9c1b7d4e",
                    "interviewId": "int-8c1d2e3f4a",
                    "candidateName": "Jane Smith",
                    "challenge": "python",
                    "password": "k3v9x2m8q1z7",
                    "autoDestroyAt": "2026-01-15T11:00:00Z",
                    "message": "Interview creation started in background",
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "interviewId": "int-8c1d2e3f4a",
                    "autoDestroyAt": "2026-01-15T11:30:00Z",
                    "message": "Auto-destroy moved 30 minutes later",
                }
            ]
        }
    )

    interview_id: str
    auto_destroy_at: UtcTime
    message: str


class InterviewList(CamelModel):
    interviews: list[InterviewView]


class DestroyResponse(CamelModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "operationId": "op-54321abcdef0",
                    "interviewId": "int-8c1d2e3f4a",
                    "message": "Interview destruction started in background",
                }
            ]
        }
    )

    operation_id: str
    interview_id: str
    message: str


class OperationDetail(OperationView):
    logs: list[str]


class OperationList(CamelModel):
    operations: list[OperationDetail]


class LogsResponse(CamelModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "logs": [
                        "[2026-01-15T09:00:00Z] Starting interview creation for Jane Smith",
                        "[2026-01-15T09:00:05Z] ✅ Interview created successfully! http://127.0.0.1:43121/",
                    ]
                }
            ]
        }
    )

    logs: list[str]


class CancelResponse(CamelModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"success": True, "message": "Operation cancelled successfully"}]}
    )

    success: bool
    message: str


class Challenge(CamelModel):
    id: str
    name: str


class ChallengeList(CamelModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "success": True,
                    "challenges": [{"id": "python", "name": "Python"}, {"id": "data-science", "name": "Data Science"}],
                }
            ]
        }
    )

    success: bool = True
    challenges: list[Challenge]


class ErrorBody(CamelModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"error": "autoDestroyMinutes must be between 30 and 240"}]}
    )

    error: str
    details: str | None = None
    operation_id: str | None = None
