"""``?interviewId=`` and ``?operationId=`` narrow a stream to one interview or one operation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Tagged(Protocol):
    @property
    def interview_id(self) -> str | None: ...

    @property
    def operation_id(self) -> str | None: ...


@dataclass(frozen=True)
class EventFilter:
    interview_id: str | None = None
    operation_id: str | None = None

    def matches(self, item: Tagged) -> bool:
        if self.interview_id and item.interview_id != self.interview_id:
            return False
        return not (self.operation_id and item.operation_id != self.operation_id)

    def matches_operation(self, interview_id: str, operation_id: str) -> bool:
        if self.interview_id and interview_id != self.interview_id:
            return False
        return not (self.operation_id and operation_id != self.operation_id)
