"""NATS JetStream plumbing: connecting, the two streams, and typed publishing."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import nats
import structlog
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from prequel_common.commands import CreateInterview, DestroyInterview
from prequel_common.events import InterviewUpdate, OperationLog, OperationUpdate, SchedulerEvent
from prequel_common.subjects import (
    COMMANDS_STREAM,
    COMMANDS_SUBJECTS,
    CORRELATION_HEADER,
    EVENTS_STREAM,
    EVENTS_SUBJECTS,
)

log = structlog.get_logger(__name__)

DEDUPE_WINDOW = timedelta(minutes=2)


async def connect(url: str, name: str, *, connect_timeout_s: float = 10.0) -> NATS:
    """Connect, reconnecting forever afterwards; the first connect gives up after ``timeout`` seconds."""

    async def on_error(exc: Exception) -> None:
        log.warning("nats error", error=str(exc))

    async def on_disconnect() -> None:
        log.warning("nats disconnected")

    async def on_reconnect() -> None:
        log.info("nats reconnected")

    return await asyncio.wait_for(
        nats.connect(
            url,
            name=name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            error_cb=on_error,
            disconnected_cb=on_disconnect,
            reconnected_cb=on_reconnect,
        ),
        connect_timeout_s,
    )


def stream_configs(events_max_age: timedelta) -> list[StreamConfig]:
    return [
        StreamConfig(
            name=COMMANDS_STREAM,
            subjects=[COMMANDS_SUBJECTS],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            duplicate_window=DEDUPE_WINDOW.total_seconds(),
        ),
        StreamConfig(
            name=EVENTS_STREAM,
            subjects=[EVENTS_SUBJECTS],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=events_max_age.total_seconds(),
            duplicate_window=DEDUPE_WINDOW.total_seconds(),
        ),
    ]


async def ensure_streams(js: JetStreamContext, events_max_age: timedelta = timedelta(days=7)) -> None:
    """Create or update both streams; safe to call from every service at every start."""
    for config in stream_configs(events_max_age):
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            with contextlib.suppress(BadRequestError):  # another service created it in between
                await js.add_stream(config)
            continue
        await js.update_stream(config)


class CommandPublisher:
    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def publish(self, command: CreateInterview | DestroyInterview) -> None:
        await self._js.publish(
            command.subject,
            command.model_dump_json(by_alias=True).encode(),
            headers={"Nats-Msg-Id": command.message_id, CORRELATION_HEADER: command.operation_id},
        )


Event = OperationUpdate | InterviewUpdate | OperationLog | SchedulerEvent


class EventPublisher:
    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def publish(self, subject: str, event: Event, *, correlation_id: str, msg_id: str | None = None) -> int:
        """Publish one event; returns its stream sequence (the SSE id)."""
        headers = {CORRELATION_HEADER: correlation_id}
        if msg_id:
            headers["Nats-Msg-Id"] = msg_id
        ack = await self._js.publish(subject, event.model_dump_json(by_alias=True).encode(), headers=headers)
        return int(ack.seq)


async def close(nc: NATS, timeout_s: float = 5.0) -> None:
    """Drain (flush what is pending) but never hang on a server that is gone."""
    try:
        await asyncio.wait_for(nc.drain(), timeout_s)
    except Exception:
        await nc.close()
