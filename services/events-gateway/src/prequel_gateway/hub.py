"""One subscription to the events stream per process, fanned out to every connected client in memory.

Each message is decoded once (for the filters), then offered to every client's bounded queue. A client that falls
that far behind is marked overflowed and disconnected (its browser reconnects with Last-Event-ID and loses nothing)
instead of growing memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from dataclasses import dataclass, field

import structlog
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from sse_starlette import ServerSentEvent

from prequel_gateway.feed import EventFeed
from prequel_gateway.filters import EventFilter

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class StreamItem:
    seq: int
    data: str
    #: the SSE frame (``id:`` + ``data:``), encoded once for every client
    frame: bytes = b""
    type: str | None = None
    interview_id: str | None = None
    operation_id: str | None = None
    #: for operation_update: the operation's status
    status: str | None = None

    @classmethod
    def decode(cls, seq: int, raw: bytes) -> StreamItem:
        text = raw.decode()
        frame = ServerSentEvent(data=text, id=str(seq)).encode()
        try:
            event = json.loads(text)
        except ValueError:
            return cls(seq, text, frame)
        kind = event.get("type")
        body = event.get("operation") or event.get("interview") or event.get("event") or event
        if kind == "interview_update":
            return cls(seq, text, frame, kind, interview_id=body.get("id"))
        if kind == "operation_update":
            return cls(seq, text, frame, kind, body.get("interviewId"), body.get("id"), body.get("status"))
        return cls(seq, text, frame, kind, body.get("interviewId"), body.get("operationId"))


@dataclass(eq=False)
class Client:
    """One stream's mailbox: at most ``limit`` undelivered events, taken in batches (one write per batch)."""

    filter: EventFilter
    limit: int
    items: deque[StreamItem] = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False

    def offer(self, item: StreamItem) -> bool:
        if len(self.items) >= self.limit:
            self.overflowed = True
            self.wakeup.set()
            return False
        self.items.append(item)
        self.wakeup.set()
        return True

    async def take(self, wait_s: float) -> list[StreamItem]:
        """What is waiting, after at most ``wait_s`` seconds (possibly nothing)."""
        if not self.items and not self.overflowed:
            self.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, wait_s)):
                    await self.wakeup.wait()
        batch = list(self.items)
        self.items.clear()
        return batch


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
        client = Client(filter=event_filter, limit=self._queue_size)
        self._clients.add(client)
        return client

    def unregister(self, client: Client) -> None:
        self._clients.discard(client)

    def _on_message(self, seq: int, data: bytes) -> None:
        self.publish(StreamItem.decode(seq, data))

    def publish(self, item: StreamItem) -> None:
        for client in list(self._clients):
            if client.filter.matches(item) and not client.offer(item):
                self._clients.discard(client)
                self.dropped += 1
                log.warning("slow SSE client disconnected", queued=len(client.items))
