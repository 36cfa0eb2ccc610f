"""Gateway-made events beyond the spec's: ``resync`` (a Last-Event-ID too old to resume from: reload the lists),
``reconnect`` (the stream is closing; reconnect with Last-Event-ID), and the log-follow events."""

from __future__ import annotations

from typing import Literal

from prequel_common.clock import utcnow
from prequel_common.models import CamelModel, UtcTime
from pydantic import Field


class _Notice(CamelModel):
    timestamp: UtcTime = Field(default_factory=utcnow)


class ResyncEvent(_Notice):
    type: Literal["resync"] = "resync"
    reason: str


class ReconnectEvent(_Notice):
    type: Literal["reconnect"] = "reconnect"
    reason: str


class LogLineEvent(_Notice):
    type: Literal["log"] = "log"
    operation_id: str
    id: int
    line: str


class LogEndEvent(_Notice):
    type: Literal["log_end"] = "log_end"
    operation_id: str
    status: str
