"""NATS JetStream plumbing: connecting, the two streams, and typed publishing."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta

import nats
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, PubAck, RetentionPolicy, StorageType, StreamConfig
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


#: publish failures that end when NATS is back (a restart, a leader election, a reconnect)
_TRANSIENT: tuple[type[BaseException], ...] = (
    TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
)


async def publish_with_retry(
    js: JetStreamContext, subject: str, payload: bytes, headers: dict[str, str], retry_for_s: float
) -> PubAck:
    """Publish to a stream, retrying transient failures for up to ``retry_for_s`` seconds.

    Every message carries a ``Nats-Msg-Id``, so a retry of a publish that reached the stream after all (its ack
    was lost in a reconnect) is dropped by the stream's dedupe window instead of stored twice."""
    assert "Nats-Msg-Id" in headers
    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + retry_for_s, 0.1
    while True:
        try:
            return await js.publish(subject, payload, headers=headers, timeout=2.0)
        except _TRANSIENT as exc:
            if loop.time() + delay >= deadline:
                raise
            log.warning("publish failed; retrying", subject=subject, error=repr(exc), retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


class CommandPublisher:
    def __init__(self, js: JetStreamContext, retry_for_s: float = 60.0) -> None:
        self._js = js
        self._retry_for_s = retry_for_s

    async def publish(self, command: CreateInterview | DestroyInterview) -> None:
        await publish_with_retry(
            self._js,
            command.subject,
            command.model_dump_json(by_alias=True).encode(),
            {"Nats-Msg-Id": command.message_id, CORRELATION_HEADER: command.operation_id},
            self._retry_for_s,
        )


Event = OperationUpdate | InterviewUpdate | OperationLog | SchedulerEvent


class EventPublisher:
    def __init__(self, js: JetStreamContext, retry_for_s: float = 60.0) -> None:
        self._js = js
        self._retry_for_s = retry_for_s

    async def publish(self, subject: str, event: Event, *, correlation_id: str, msg_id: str | None = None) -> int:
        """Publish one event; returns its stream sequence (the SSE id)."""
        headers = {CORRELATION_HEADER: correlation_id, "Nats-Msg-Id": msg_id or f"evt-{uuid.uuid4().hex}"}
        payload = event.model_dump_json(by_alias=True).encode()
        ack = await publish_with_retry(self._js, subject, payload, headers, self._retry_for_s)
        return int(ack.seq)


async def close(nc: NATS, timeout_s: float = 5.0) -> None:
    """Drain (flush what is pending) but never hang on a server that is gone."""
    try:
        await asyncio.wait_for(nc.drain(), timeout_s)
    except Exception:
        await nc.close()
