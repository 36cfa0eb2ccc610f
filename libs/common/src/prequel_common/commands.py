"""Commands: what the api and the scheduler ask the provisioner to do (the work-queue stream)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from prequel_common.clock import utcnow
from prequel_common.intake import InterviewRequest
from prequel_common.models import CamelModel, UtcTime
from prequel_common.subjects import command_subject


class _Command(CamelModel):
    operation_id: str = Field(pattern=r"^op-[a-z0-9]{4,40}$")
    interview_id: str = Field(pattern=r"^int-[a-z0-9]{4,40}$")
    issued_at: UtcTime = Field(default_factory=utcnow)

    @property
    def message_id(self) -> str:
        """One command per operation: JetStream drops a republished duplicate."""
        return f"cmd-{self.operation_id}"


class CreateInterview(_Command):
    """Start the creation of an interview.

    The api publishes it for records it has already written. Another internal service may publish it with
    ``request`` (and ids of its own choosing): the provisioner then validates the request exactly as the api does,
    writes the records, and starts (or schedules) the creation.
    """

    type: Literal["create"] = "create"
    request: InterviewRequest | None = None
    #: who asks, for ``createdBy`` (with ``request``)
    requested_by: str | None = Field(default=None, max_length=100)

    @property
    def message_id(self) -> str:
        # the request and the later (scheduled) start of the same operation are two different commands
        return f"{'intake' if self.request else 'cmd'}-{self.operation_id}"

    @property
    def subject(self) -> str:
        return command_subject("create", self.interview_id)


class DestroyInterview(_Command):
    """Destroy an interview. Another internal service may publish it with an operation id of its own choosing:
    the provisioner then reserves the interview's one destroy as the api does (a second destroy is refused)."""

    type: Literal["destroy"] = "destroy"
    reason: Literal["requested", "auto_destroy", "cleanup"] = "requested"
    #: who asks, for ``createdBy`` (a destroy from another service)
    requested_by: str | None = Field(default=None, max_length=100)

    @property
    def subject(self) -> str:
        return command_subject("destroy", self.interview_id)


Command = Annotated[CreateInterview | DestroyInterview, Field(discriminator="type")]
COMMAND_ADAPTER: TypeAdapter[CreateInterview | DestroyInterview] = TypeAdapter(Command)


def parse_command(data: bytes) -> CreateInterview | DestroyInterview:
    return COMMAND_ADAPTER.validate_json(data)


__all__ = ["Command", "CreateInterview", "DestroyInterview", "parse_command"]
