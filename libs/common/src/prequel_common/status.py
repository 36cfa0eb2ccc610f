"""The status state machine of interviews and operations (see docs/architecture.md).

Every status write goes through :mod:`prequel_common.store`, which applies these tables atomically in Redis,
so a late or duplicate message can never move a record backwards (``destroyed`` never becomes ``active``).
"""

from __future__ import annotations

from enum import StrEnum


class InterviewStatus(StrEnum):
    SCHEDULED = "scheduled"
    INITIALIZING = "initializing"
    CONFIGURING = "configuring"
    ACTIVE = "active"
    DESTROYING = "destroying"
    DESTROYED = "destroyed"
    ERROR = "error"


class OperationStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OperationType(StrEnum):
    CREATE = "create"
    DESTROY = "destroy"


_I = InterviewStatus
_NON_FINAL = frozenset({_I.SCHEDULED, _I.INITIALIZING, _I.CONFIGURING, _I.ACTIVE})

#: target status -> the statuses it may be entered from
INTERVIEW_FROM: dict[InterviewStatus, frozenset[InterviewStatus]] = {
    _I.INITIALIZING: frozenset({_I.SCHEDULED}),
    _I.CONFIGURING: frozenset({_I.INITIALIZING}),
    _I.ACTIVE: frozenset({_I.CONFIGURING}),
    # destroy is allowed from every non-final state, and from error (to clean up after a failure)
    _I.DESTROYING: _NON_FINAL | {_I.ERROR},
    # a scheduled interview has no infrastructure: destroy takes it straight to destroyed
    _I.DESTROYED: frozenset({_I.DESTROYING, _I.SCHEDULED}),
    _I.ERROR: _NON_FINAL | {_I.DESTROYING},
}

INTERVIEW_FINAL = frozenset({_I.DESTROYED})
INTERVIEW_GONE_OR_GOING = frozenset({_I.DESTROYING, _I.DESTROYED})

_O = OperationStatus
OPERATION_FROM: dict[OperationStatus, frozenset[OperationStatus]] = {
    # running -> running lets a redelivered command resume a run whose worker died
    _O.RUNNING: frozenset({_O.PENDING, _O.RUNNING}),
    _O.COMPLETED: frozenset({_O.RUNNING}),
    _O.FAILED: frozenset({_O.PENDING, _O.RUNNING}),
    _O.CANCELLED: frozenset({_O.PENDING, _O.RUNNING}),
}

OPERATION_ACTIVE = frozenset({_O.PENDING, _O.RUNNING})
OPERATION_FINAL = frozenset({_O.COMPLETED, _O.FAILED, _O.CANCELLED})


def interview_can_enter(current: InterviewStatus, target: InterviewStatus) -> bool:
    return current in INTERVIEW_FROM.get(target, frozenset())


def operation_can_enter(current: OperationStatus, target: OperationStatus) -> bool:
    return current in OPERATION_FROM.get(target, frozenset())
