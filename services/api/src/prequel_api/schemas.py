"""Request and response bodies of the spec (``../shared/spec/prequel-portal-api.md``)."""

from __future__ import annotations

import unicodedata
from datetime import datetime

from prequel_common.models import CamelModel, UtcTime
from prequel_common.views import InterviewView, OperationView
from pydantic import ConfigDict, Field, StrictInt, field_validator

#: text-direction overrides can make a name display as something else
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
CHALLENGE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


class CreateInterviewRequest(CamelModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "candidateName": "Jane Smith",
                    "challenge": "python",
                    "scheduledAt": "2030-01-15T14:00:00Z",
                    "autoDestroyMinutes": 90,
                }
            ]
        },
    )

    candidate_name: str = Field(description="1-100 visible characters")
    challenge: str = Field(pattern=CHALLENGE_ID_PATTERN, description="A challenge id from GET /api/challenges")
    scheduled_at: datetime | None = Field(default=None, description="ISO-8601 time with a zone; omit to start now")
    auto_destroy_minutes: StrictInt = Field(description="Lifetime in minutes (30-240 by default)")

    @field_validator("candidate_name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not 1 <= len(value) <= 100:
            raise ValueError("must be 1 to 100 characters")
        if any(unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS for ch in value):
            raise ValueError("must not contain control characters")
        return value

    @field_validator("scheduled_at")
    @classmethod
    def _zone(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a time zone, e.g. 2030-01-15T14:00:00Z")
        return value


class CreateInterviewResponse(CamelModel):
    operation_id: str
    interview_id: str
    candidate_name: str
    challenge: str
    password: str
    scheduled_at: UtcTime | None = None
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
