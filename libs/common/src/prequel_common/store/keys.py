"""Redis key layout, in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "prequel"

    def interview(self, interview_id: str) -> str:
        return f"{self.prefix}:interview:{interview_id}"

    @property
    def interviews(self) -> str:
        """Sorted set of interview ids by creation time."""
        return f"{self.prefix}:interviews"

    def operation(self, operation_id: str) -> str:
        return f"{self.prefix}:operation:{operation_id}"

    @property
    def operation_prefix(self) -> str:
        return f"{self.prefix}:operation:"

    @property
    def operations(self) -> str:
        """Sorted set of operation ids by creation time."""
        return f"{self.prefix}:operations"

    def interview_operations(self, interview_id: str) -> str:
        return f"{self.prefix}:interview:{interview_id}:operations"

    @property
    def active_operations(self) -> str:
        """Set of pending and running operation ids."""
        return f"{self.prefix}:operations:active"

    def logs(self, operation_id: str) -> str:
        return f"{self.prefix}:oplog:{operation_id}"

    def cancel(self, operation_id: str) -> str:
        return f"{self.prefix}:cancel:{operation_id}"

    @property
    def timers(self) -> str:
        return f"{self.prefix}:timers"
