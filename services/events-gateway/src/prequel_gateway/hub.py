"""One subscription to the events stream per process, fanned out to every connected client in memory.

Each message is decoded once (for the filters), then offered to every client's bounded queue. A client that falls
that far behind is marked overflowed and disconnected (its browser reconnects with Last-Event-ID and loses nothing)
instead of growing memory.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import structlog
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from prequel_gateway.feed import EventFeed
from prequel_gateway.filters import EventFilter

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class StreamItem:
    seq: int
    data: str
    type: str | None = None
    interview_id: str | None = None
    operation_id: str | None = None
    #: for operation_update: the operation's status
    status: str | None = None

    @classmethod
    def decode(cls, seq: int, raw: bytes) -> StreamItem:
        text = raw.decode()
        try:
            event = json.loads(text)
        except ValueError:
            return cls(seq, text)
        kind = event.get("type")
        body = event.get("operation") or event.get("interview") or event.get("event") or event
        if kind == "interview_update":
            return cls(seq, text, kind, interview_id=body.get("id"))
        if kind == "operation_update":
            return cls(seq, text, kind, body.get("interviewId"), body.get("id"), body.get("status"))
        return cls(seq, text, kind, body.get("interviewId"), body.get("operationId"))


@dataclass(eq=False)
class Client:
    queue: asyncio.Queue[StreamItem]
    filter: EventFilter
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)


class Hub:
    def __init__(self, nc: NATS, js: JetStreamContext, queue_size: int) -> None:
        self._feed = EventFeed(nc, js, self._on_message)
        self._queue_size = queue_size
        self._clients: set[Client] = set()
        self.dropped = 0

    @property
    def client_count(self) -> int:
        return len(self._clients)

    async def start(self) -> None:
        await self._feed.start()

    async def stop(self) -> None:
        await self._feed.stop()

    def register(self, event_filter: EventFilter) -> Client:
        client = Client(queue=asyncio.Queue(self._queue_size), filter=event_filter)
        self._clients.add(client)
        return client

    def unregister(self, client: Client) -> None:
        self._clients.discard(client)

    def _on_message(self, seq: int, data: bytes) -> None:
        self.publish(StreamItem.decode(seq, data))

    def publish(self, item: StreamItem) -> None:
        for client in list(self._clients):
            if not client.filter.matches(item):
                continue
            try:
                client.queue.put_nowait(item)
            except asyncio.QueueFull:
                client.overflowed.set()
                self._clients.discard(client)
                self.dropped += 1
                log.warning("slow SSE client disconnected", queued=client.queue.qsize())
