"""Commands: what the api and the scheduler ask the provisioner to do (the work-queue stream)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from prequel_common.clock import utcnow
from prequel_common.models import CamelModel, UtcTime
from prequel_common.subjects import command_subject


class _Command(CamelModel):
    operation_id: str
    interview_id: str
    issued_at: UtcTime = Field(default_factory=utcnow)

    @property
    def message_id(self) -> str:
        """One command per operation: JetStream drops a republished duplicate."""
        return f"cmd-{self.operation_id}"


class CreateInterview(_Command):
    type: Literal["create"] = "create"

    @property
    def subject(self) -> str:
        return command_subject("create", self.interview_id)


class DestroyInterview(_Command):
    type: Literal["destroy"] = "destroy"
    reason: Literal["requested", "auto_destroy", "cleanup"] = "requested"

    @property
    def subject(self) -> str:
        return command_subject("destroy", self.interview_id)


Command = Annotated[CreateInterview | DestroyInterview, Field(discriminator="type")]
COMMAND_ADAPTER: TypeAdapter[CreateInterview | DestroyInterview] = TypeAdapter(Command)


def parse_command(data: bytes) -> CreateInterview | DestroyInterview:
    return COMMAND_ADAPTER.validate_json(data)


__all__ = ["Command", "CreateInterview", "DestroyInterview", "parse_command"]
