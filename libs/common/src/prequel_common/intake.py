"""A request for a new interview, validated the same way whether it came over HTTP (api) or NATS (a command
published by another internal service), and turned into the interview and create-operation records."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, StrictInt, field_validator

from prequel_common.ids import new_interview_id, new_operation_id, new_password
from prequel_common.models import CamelModel, Interview, Operation
from prequel_common.status import InterviewStatus, OperationStatus, OperationType

CHALLENGE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
#: refused in a name: control (Cc) and format characters (Cf: zero-width spaces, the soft hyphen, bidi controls
#: that can make a name display as something else; joiners only between letters), surrogates (Cs: not text) and
#: the line and paragraph separators (Zl, Zp)
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
#: characters that draw nothing although Unicode calls them letters or symbols
_BLANK_LETTERS = frozenset("\u115f\u1160\u2800\u3164\uffa0")
#: ISO-8601 extended format with a zone (what JSON Schema's date-time allows, plus optional seconds and an offset
#: without its colon); epoch numbers, bare dates and zone-less times do not match
_ISO_WITH_ZONE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$", re.ASCII)
_ZONE_EXAMPLE = "e.g. 2030-01-15T14:00:00Z"


#: zero-width non-joiner and joiner: part of how Persian and Indic names are written, and of emoji sequences
_JOINERS = frozenset("\u200c\u200d")


def _refused(value: str) -> str | None:
    """The first character a name may not hold. A joiner is kept only inside a word of a script that uses it (or an
    emoji sequence): between two characters that are neither control, format nor space, one of them not ASCII."""
    for i, ch in enumerate(value):
        if unicodedata.category(ch) not in _REFUSED_CATEGORIES:
            continue
        if ch in _JOINERS and 0 < i < len(value) - 1:
            before, after = value[i - 1], value[i + 1]
            in_word = all(unicodedata.category(c)[0] not in "CZ" for c in (before, after))
            if in_word and not (before.isascii() and after.isascii()):
                continue
        return ch
    return None


def _visible(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] not in "CZ" and category not in ("Mn", "Me") and ch not in _BLANK_LETTERS


class InterviewRequest(CamelModel):
    candidate_name: str = Field(description="1-100 visible characters")
    challenge: str = Field(pattern=CHALLENGE_ID_PATTERN, description="A challenge id from GET /api/challenges")
    scheduled_at: datetime | None = Field(default=None, description="ISO-8601 time with a zone; omit to start now")
    auto_destroy_minutes: StrictInt = Field(description="Lifetime in minutes (30-240 by default)")

    @field_validator("candidate_name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        refused = _refused(value)
        if refused is not None:
            raise ValueError(f"must not contain control or invisible formatting characters (U+{ord(refused):04X})")
        if not 1 <= len(value) <= 100:
            raise ValueError("must be 1 to 100 characters")
        if not any(_visible(ch) for ch in value):
            raise ValueError("must contain visible characters")
        return value

    @field_validator("scheduled_at", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        """JSON gives a string: it must be ISO-8601 with a zone (pydantic alone would also take epoch numbers)."""
        if value is None or isinstance(value, datetime):
            return value
        if not isinstance(value, str):
            raise ValueError(f"must be a string: an ISO-8601 time with a time zone, {_ZONE_EXAMPLE} (not epoch time)")
        if not _ISO_WITH_ZONE.match(value):
            raise ValueError(f"must be an ISO-8601 time with a time zone, {_ZONE_EXAMPLE}")
        return value

    @field_validator("scheduled_at")
    @classmethod
    def _zone(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"must include a time zone, {_ZONE_EXAMPLE}")
        return value


class RequestRejected(Exception):
    """The request breaks a rule; the message says which, for the person who sent it (``details``: for a developer)."""

    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.details = details


@dataclass(frozen=True)
class Limits:
    min_minutes: int = 30
    max_minutes: int = 240
    schedule_max_days: int = 90
    clock_skew_s: int = 60


def check(request: InterviewRequest, limits: Limits, now: datetime) -> None:
    if not limits.min_minutes <= request.auto_destroy_minutes <= limits.max_minutes:
        raise RequestRejected(
            f"autoDestroyMinutes must be between {limits.min_minutes} and {limits.max_minutes}",
            f"got {request.auto_destroy_minutes}; the range is PREQUEL_AUTO_DESTROY_MIN_MINUTES to"
            " PREQUEL_AUTO_DESTROY_MAX_MINUTES",
        )
    if request.scheduled_at is not None:
        if request.scheduled_at < now - timedelta(seconds=limits.clock_skew_s):
            raise RequestRejected(
                "scheduledAt is in the past",
                f"got {request.scheduled_at.isoformat()}, server time {now.isoformat()}"
                f" (allowed clock skew {limits.clock_skew_s} s)",
            )
        if request.scheduled_at > now + timedelta(days=limits.schedule_max_days):
            raise RequestRejected(
                f"scheduledAt is more than {limits.schedule_max_days} days ahead",
                f"got {request.scheduled_at.isoformat()}, server time {now.isoformat()}",
            )


def new_records(
    request: InterviewRequest,
    *,
    now: datetime,
    created_by: str | None,
    interview_id: str | None = None,
    operation_id: str | None = None,
) -> tuple[Interview, Operation]:
    """The interview (``scheduled`` when it starts later, else ``initializing``) and its pending create operation."""
    waits = request.scheduled_at is not None and request.scheduled_at > now
    start = request.scheduled_at if request.scheduled_at is not None and waits else now
    interview = Interview(
        id=interview_id or new_interview_id(),
        candidate_name=request.candidate_name,
        challenge=request.challenge,
        status=InterviewStatus.SCHEDULED if waits else InterviewStatus.INITIALIZING,
        password=new_password(),
        created_at=now,
        scheduled_at=request.scheduled_at,
        auto_destroy_at=start + timedelta(minutes=request.auto_destroy_minutes),
        auto_destroy_minutes=request.auto_destroy_minutes,
        created_by=created_by,
        create_operation_id=operation_id or new_operation_id(),
    )
    operation = Operation(
        id=interview.create_operation_id or "",
        type=OperationType.CREATE,
        status=OperationStatus.PENDING,
        interview_id=interview.id,
        candidate_name=interview.candidate_name,
        challenge=interview.challenge,
        created_at=now,
        scheduled_at=interview.scheduled_at,
        auto_destroy_at=interview.auto_destroy_at,
        created_by=created_by,
    )
    return interview, operation
