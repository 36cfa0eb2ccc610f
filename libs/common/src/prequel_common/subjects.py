"""Stream and subject names: the wire layout between services."""

from __future__ import annotations

COMMANDS_STREAM = "PREQUEL_COMMANDS"
#: the stream takes only subjects a service consumes: a publish anywhere else under prequel.cmd fails at once
PROVISION_SUBJECTS = "prequel.cmd.provision.>"
COMMANDS_SUBJECTS = PROVISION_SUBJECTS
PROVISIONER_DURABLE = "provisioner"

EVENTS_STREAM = "PREQUEL_EVENTS"
EVENTS_SUBJECTS = "prequel.evt.>"


def command_subject(kind: str, interview_id: str) -> str:
    return f"prequel.cmd.provision.{kind}.{interview_id}"


def operation_event_subject(operation_id: str) -> str:
    return f"prequel.evt.operation.{operation_id}"


def log_event_subject(operation_id: str) -> str:
    return f"prequel.evt.log.{operation_id}"


def interview_event_subject(interview_id: str) -> str:
    return f"prequel.evt.interview.{interview_id}"


def scheduler_event_subject(interview_id: str) -> str:
    return f"prequel.evt.scheduler.{interview_id}"


CORRELATION_HEADER = "Prequel-Correlation-Id"
