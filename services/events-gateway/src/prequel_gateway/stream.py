"""One client's SSE stream of ``/api/events``, written to its connection.

``connection`` first (with ``retry: 5000``); after a reconnect, every stored event after the client's Last-Event-ID;
then live events (each with ``id:`` = its events-stream sequence), a ``heartbeat`` every 30 s and an
``operation_status`` snapshot every 5 s while operations are active. No gap and no duplicate between replay and
live: the client is registered with the hub before the replay's end is fixed, and live copies up to it are dropped.

Every frame is sse-starlette's ``ServerSentEvent`` encoding. A live event costs a stream nothing: the hub writes it
to the connection (see :class:`prequel_gateway.hub.Client`). The stream's own task wakes only for its deadlines
(heartbeat and slot refresh, snapshot, end of life: one heap in the hub, no timer per client), for events the
connection could not take at once, and to end.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from nats.js import JetStreamContext
from prequel_common.events import ConnectionEvent, HeartbeatEvent, OperationStatusEvent
from prequel_common.models import CamelModel, Operation
from prequel_common.views import OperationSummary
from sse_starlette import ServerSentEvent

from prequel_gateway.filters import EventFilter
from prequel_gateway.hub import Client, Hub, Send, StreamItem
from prequel_gateway.notices import ReconnectEvent, ResyncEvent
from prequel_gateway.replay import replay, stream_window
from prequel_gateway.settings import GatewaySettings

log = structlog.get_logger(__name__)

ActiveOperations = Callable[[], Awaitable[list[Operation]]]


def sse_of(event: CamelModel, **kwargs: object) -> ServerSentEvent:
    return ServerSentEvent(data=event.model_dump_json(by_alias=True), **kwargs)  # type: ignore[arg-type]


def heartbeat() -> ServerSentEvent:
    """The spec's ``heartbeat`` event (every ``heartbeat_s`` on ``/api/events``; the log follow's ping)."""
    return sse_of(HeartbeatEvent())


class StatusFrames:
    """The ``operation_status`` frames of every stream of the process.

    The active operations are loaded by one caller at a time and kept for ``max_age_s``: a stream whose snapshot
    comes due while they load takes the previous ones instead of queueing behind the load (at 10,000 streams,
    2,000 come due every second). The frame for the streams without a filter (most of them) is encoded once per
    load.
    """

    def __init__(self, load: ActiveOperations, max_age_s: float) -> None:
        self._load = load
        self._max_age_s = max_age_s
        self._operations: list[Operation] | None = None
        self._frame: bytes | None = None
        self._loaded_at = float("-inf")
        self._loading: asyncio.Task[None] | None = None

    async def frame(self, event_filter: EventFilter) -> bytes | None:
        loop = asyncio.get_running_loop()
        if self._loading is None and loop.time() - self._loaded_at >= self._max_age_s:
            self._loading = loop.create_task(self._reload())
        if self._operations is None and self._loading is not None:  # nothing loaded yet: wait for the first
            await asyncio.shield(self._loading)
        if event_filter.interview_id or event_filter.operation_id:
            operations = self._operations or []
            return _status_frame([o for o in operations if event_filter.matches_operation(o.interview_id, o.id)])
        return self._frame

    async def _reload(self) -> None:
        try:
            operations = await self._load()
            self._operations, self._frame = operations, _status_frame(operations)
            self._loaded_at = asyncio.get_running_loop().time()
        except Exception as exc:  # Redis unreachable: the previous snapshot stays; the next caller tries again
            log.warning("active operations not loaded", error=repr(exc))
        finally:
            self._loading = None


def _status_frame(operations: list[Operation]) -> bytes | None:
    if not operations:
        return None
    return sse_of(OperationStatusEvent(operations=[OperationSummary.of(o) for o in operations])).encode()


@dataclass(frozen=True)
class StreamDeps:
    js: JetStreamContext
    hub: Hub
    settings: GatewaySettings
    active_operations: ActiveOperations
    status: StatusFrames = field(init=False)

    def __post_init__(self) -> None:
        max_age_s = min(1.0, self.settings.status_interval_s) / 2
        object.__setattr__(self, "status", StatusFrames(self.active_operations, max_age_s))


async def _replay(deps: StreamDeps, client: Client, last_event_id: int) -> AsyncIterator[StreamItem | ResyncEvent]:
    window = await stream_window(deps.js)
    if last_event_id + 1 < window.first or last_event_id > window.last:
        yield ResyncEvent(reason="events after your Last-Event-ID are no longer kept: reload the lists")
        return
    async for item in replay(deps.js, last_event_id, window.last):
        if client.filter.matches(item):
            yield item


def _spread(low: float, high: float) -> float:
    return random.uniform(low, high)  # noqa: S311 - spreads timers, not a secret


class _Deadlines:
    """When the next heartbeat (with its slot refresh), status snapshot and end of the stream are due (loop time).

    The first snapshot comes at a random point of its interval, the first heartbeat in the last tenth of its (27 to
    30 s after connecting: the spec's 30 s, near enough) and the end in the last tenth of the lifetime, so that
    clients that connected together (a gateway restart, a deploy) do not all come due in the same instant ever
    after: the work is spread instead of arriving in bursts that delay events.
    """

    def __init__(self, now: float, settings: GatewaySettings) -> None:
        self.heartbeat = now + settings.heartbeat_s * _spread(0.9, 1.0)
        self.status = now + settings.status_interval_s * _spread(0.1, 1.0)
        self.end = now + settings.max_stream_s * _spread(0.9, 1.0)

    @property
    def next(self) -> float:
        return min(self.heartbeat, self.status, self.end)


#: replayed frames are written in chunks of about this size
REPLAY_CHUNK = 64 * 1024


class _Writer:
    """The stream's own writes (marked, so that an overflow can cancel one stuck on a client that does not read)."""

    __slots__ = ("client", "send")

    def __init__(self, client: Client, send: Send) -> None:
        self.client, self.send = client, send

    async def __call__(self, body: bytes) -> None:
        self.client.sending = True
        try:
            await self.send({"type": "http.response.body", "body": body, "more_body": True})
        finally:
            self.client.sending = False


async def run_stream(
    deps: StreamDeps,
    client: Client,
    last_event_id: int | None,
    keepalive: Callable[[], Awaitable[None]],
    send: Send,
) -> None:
    """Write one ``/api/events`` stream's body to ``send`` (the response has started) until it ends.

    ``connection`` first (with ``retry:``), the replay after ``last_event_id``, then live events, a ``heartbeat``
    every ``heartbeat_s`` (with the slot refresh), ``operation_status`` every ``status_interval_s`` while
    operations are active, and a ``reconnect`` hint at the end of the stream's lifetime or at shutdown. Once live,
    the hub writes events to ``send`` directly while this waits with nothing queued (see :class:`Client`).
    Returns when the stream is over; the caller ends the response.
    """
    settings, hub, loop = deps.settings, deps.hub, asyncio.get_running_loop()
    write = _Writer(client, send)
    await write(sse_of(ConnectionEvent(), retry=settings.sse_retry_ms).encode())
    replayed_until = 0
    if last_event_id is not None:
        chunk: list[bytes] = []
        size = 0
        async for replayed in _replay(deps, client, last_event_id):
            if isinstance(replayed, ResyncEvent):
                chunk.append(sse_of(replayed).encode())
                continue
            replayed_until = replayed.seq
            chunk.append(replayed.frame)
            size += len(replayed.frame)
            if size >= REPLAY_CHUNK:
                await write(b"".join(chunk))
                chunk, size = [], 0
        if chunk:
            await write(b"".join(chunk))
    client.skip_until = replayed_until  # copies of replayed events still on their way to the hub are dropped
    client.send = send  # live: the hub may write to the connection while this waits
    due = _Deadlines(loop.time(), settings)
    hub.wake_at(client, due.next)
    while True:
        await client.wait()
        if client.gone or client.overflowed or client.aborted:
            return  # gone, or too slow: the browser reconnects and resumes from its last id
        if client.items:
            batch = client.drain()
            if batch[0].seq <= replayed_until:  # live events the replay already sent
                batch = [item for item in batch if item.seq > replayed_until]
            if batch:
                await write(batch[0].frame if len(batch) == 1 else b"".join(item.frame for item in batch))
        if client.closing:
            await write(sse_of(ReconnectEvent(reason="the gateway is shutting down")).encode())
            return
        if client.due:
            client.due = False
            now = loop.time()
            if now >= due.end:
                await write(sse_of(ReconnectEvent(reason="maximum stream lifetime reached")).encode())
                return
            if now >= due.heartbeat:
                due.heartbeat = now + settings.heartbeat_s
                hub.keep_alive(client, keepalive)
                await write(heartbeat().encode())
            if now >= due.status:
                due.status = now + settings.status_interval_s
                frame = await deps.status.frame(client.filter)
                if frame:
                    await write(frame)
            hub.wake_at(client, due.next)
