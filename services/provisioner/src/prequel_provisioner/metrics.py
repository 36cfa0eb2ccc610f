"""The provisioner's metrics (served at ``/metrics`` with the shared ones)."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from nats.js import JetStreamContext
from prequel_common.subjects import COMMANDS_STREAM, PROVISIONER_DURABLE
from prometheus_client import Gauge, Histogram

log = structlog.get_logger(__name__)

TERRAFORM_DURATION = Histogram(
    "prequel_terraform_duration_seconds",
    "Wall time of one terraform command, by command and outcome",
    ["command", "outcome"],
    buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
)
COMMAND_BACKLOG = Gauge(
    "prequel_command_backlog",
    "Commands on the work queue of the shared consumer: waiting for a worker, or taken and not yet acknowledged",
    ["state"],
)
RUNNING = Gauge("prequel_provisioner_running_commands", "Commands this process is running now")


async def watch_backlog(js: JetStreamContext, stop: asyncio.Event, period_s: float = 5.0) -> None:
    """Refresh :data:`COMMAND_BACKLOG` from the consumer's info until ``stop`` is set."""
    while not stop.is_set():
        try:
            info = await js.consumer_info(COMMANDS_STREAM, PROVISIONER_DURABLE)
            COMMAND_BACKLOG.labels(state="waiting").set(info.num_pending or 0)
            COMMAND_BACKLOG.labels(state="in_progress").set(info.num_ack_pending or 0)
        except Exception as exc:  # NATS away or the consumer not made yet: keep the last values
            log.debug("backlog not read", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), period_s)
