"""One client's SSE stream of ``/api/events``.

``connection`` first (with ``retry: 5000``); after a reconnect, every stored event after the client's Last-Event-ID;
then live events (each with ``id:`` = its events-stream sequence), a ``heartbeat`` every 30 s and an
``operation_status`` snapshot every 5 s while operations are active. No gap and no duplicate between replay and live:
the client is registered with the hub before the replay's end is fixed, and live events up to it are skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from nats.js import JetStreamContext
from prequel_common.events import ConnectionEvent, HeartbeatEvent, OperationStatusEvent
from prequel_common.models import CamelModel, Operation
from prequel_common.views import OperationSummary
from sse_starlette import ServerSentEvent

from prequel_gateway.hub import Client, Hub, StreamItem
from prequel_gateway.notices import ReconnectEvent, ResyncEvent
from prequel_gateway.replay import replay, stream_window
from prequel_gateway.settings import GatewaySettings

ActiveOperations = Callable[[], Awaitable[list[Operation]]]


@dataclass(frozen=True)
class StreamDeps:
    js: JetStreamContext
    hub: Hub
    settings: GatewaySettings
    active_operations: ActiveOperations


def sse_of(event: CamelModel, **kwargs: object) -> ServerSentEvent:
    return ServerSentEvent(data=event.model_dump_json(by_alias=True), **kwargs)  # type: ignore[arg-type]


async def _replay(deps: StreamDeps, client: Client, last_event_id: int) -> AsyncIterator[StreamItem | ResyncEvent]:
    window = await stream_window(deps.js)
    if last_event_id + 1 < window.first or last_event_id > window.last:
        yield ResyncEvent(reason="events after your Last-Event-ID are no longer kept: reload the lists")
        return
    async for item in replay(deps.js, last_event_id, window.last):
        if client.filter.matches(item):
            yield item


class _Deadlines:
    """When the next heartbeat, status snapshot and end of the stream are due (loop time)."""

    def __init__(self, now: float, settings: GatewaySettings) -> None:
        self.heartbeat = now + settings.heartbeat_s
        self.status = now + settings.status_interval_s
        self.end = now + settings.max_stream_s

    def next_in(self, now: float) -> float:
        return min(self.heartbeat, self.status, self.end) - now


async def client_stream(
    deps: StreamDeps, client: Client, last_event_id: int | None, keepalive: Callable[[], Awaitable[None]]
) -> AsyncIterator[ServerSentEvent | bytes]:
    settings, loop = deps.settings, asyncio.get_running_loop()
    try:
        yield sse_of(ConnectionEvent(), retry=settings.sse_retry_ms)
        replayed_until = 0
        if last_event_id is not None:
            async for replayed in _replay(deps, client, last_event_id):
                if isinstance(replayed, ResyncEvent):
                    yield sse_of(replayed)
                else:
                    replayed_until = replayed.seq
                    yield replayed.frame
        due = _Deadlines(loop.time(), settings)
        async for batch in live_batches(client, lambda: due.next_in(loop.time())):
            frames = b"".join(item.frame for item in batch if item.seq > replayed_until)
            if frames:
                yield frames
            now = loop.time()
            if now >= due.end:
                yield sse_of(ReconnectEvent(reason="maximum stream lifetime reached"))
                return
            if now >= due.heartbeat:
                due.heartbeat = now + settings.heartbeat_s
                await keepalive()
                yield sse_of(HeartbeatEvent())
            if now >= due.status:
                due.status = now + settings.status_interval_s
                operations = [
                    o for o in await deps.active_operations() if client.filter.matches_operation(o.interview_id, o.id)
                ]
                if operations:
                    yield sse_of(OperationStatusEvent(operations=[OperationSummary.of(o) for o in operations]))
    finally:
        deps.hub.unregister(client)


async def live_batches(client: Client, wait_s: Callable[[], float]) -> AsyncIterator[list[StreamItem]]:
    """Batches of queued events as they come (empty when ``wait_s`` runs out); ends when the client overflowed."""
    while True:
        batch = await client.take(wait_s())
        if client.overflowed:
            return  # too slow: the browser reconnects and resumes from its last id
        yield batch
