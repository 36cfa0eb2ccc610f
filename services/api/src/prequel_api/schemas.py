"""Request and response bodies of the spec (``../shared/spec/prequel-portal-api.md``)."""

from __future__ import annotations

from prequel_common.intake import InterviewRequest
from prequel_common.models import CamelModel, UtcTime
from prequel_common.views import InterviewView, OperationView
from pydantic import ConfigDict, Field, StrictInt
from pydantic.config import JsonDict

#: examples shaped like the spec's, with ids and times as this api makes them
_INTERVIEW_EXAMPLE: JsonDict = {
    "id": "int-8c1d2e3f4a",
    "candidateName": "Jane Smith",
    "challenge": "python",
    "status": "active",
    "accessUrl": "http://127.0.0.1:43121/",
    "password": "k3v9x2m8q1z7",
    "createdAt": "2026-01-15T09:00:00Z",
    "scheduledAt": "2026-01-15T10:00:00Z",
    "autoDestroyAt": "2026-01-15T11:30:00Z",
    "createdBy": "recruiter",
}
_OPERATION_EXAMPLE: JsonDict = {
    "id": "op-3f2a9c1b7d4e",
    "type": "create",
    "status": "completed",
    "interviewId": "int-8c1d2e3f4a",
    "candidateName": "Jane Smith",
    "challenge": "python",
    "startedAt": "2026-01-15T10:00:00Z",
    "completedAt": "2026-01-15T10:00:09Z",
    "scheduledAt": "2026-01-15T10:00:00Z",
    "autoDestroyAt": "2026-01-15T11:30:00Z",
    "createdBy": "recruiter",
    "logs": [
        "[2026-01-15T09:00:00Z] Interview for Jane Smith scheduled to start at 2026-01-15T10:00:00Z",
        "[2026-01-15T10:00:00Z] Setting up",
        "[2026-01-15T10:00:02Z] Creating workspace",
        "[2026-01-15T10:00:09Z] ✅ Interview created successfully! http://127.0.0.1:43121/",
    ],
    "result": {
        "success": True,
        "accessUrl": "http://127.0.0.1:43121/",
        "password": "k3v9x2m8q1z7",
        "timings": {"module.workspace.terraform_data.files": 0.4, "module.workspace.terraform_data.ide": 1.8},
    },
}


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
    model_config = ConfigDict(json_schema_extra={"examples": [{"interviews": [_INTERVIEW_EXAMPLE]}]})

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
    model_config = ConfigDict(json_schema_extra={"examples": [_OPERATION_EXAMPLE]})

    logs: list[str]


class OperationList(CamelModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"operations": [_OPERATION_EXAMPLE]}]})

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
