"""One subscription to the events stream per process, fanned out to every connected client in memory.

Each client has a bounded queue; a client that falls that far behind is marked overflowed and disconnected
(its browser reconnects with Last-Event-ID and loses nothing) instead of growing memory.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import structlog
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from prequel_common.subjects import EVENTS_STREAM, EVENTS_SUBJECTS

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class StreamItem:
    seq: int
    subject: str
    data: str


@dataclass(eq=False)
class Client:
    queue: asyncio.Queue[StreamItem]
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)


class Hub:
    def __init__(self, js: JetStreamContext, queue_size: int) -> None:
        self._js = js
        self._queue_size = queue_size
        self._clients: set[Client] = set()
        self._sub: Subscription | None = None

    @property
    def client_count(self) -> int:
        return len(self._clients)

    async def start(self) -> None:
        self._sub = await self._js.subscribe(
            EVENTS_SUBJECTS,
            stream=EVENTS_STREAM,
            cb=self._on_msg,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW,
        )

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()

    def register(self) -> Client:
        client = Client(queue=asyncio.Queue(self._queue_size))
        self._clients.add(client)
        return client

    def unregister(self, client: Client) -> None:
        self._clients.discard(client)

    async def _on_msg(self, msg: Msg) -> None:
        item = StreamItem(seq=msg.metadata.sequence.stream, subject=msg.subject, data=msg.data.decode())
        for client in list(self._clients):
            try:
                client.queue.put_nowait(item)
            except asyncio.QueueFull:
                client.overflowed.set()
                self._clients.discard(client)
                log.warning("slow SSE client disconnected", queued=client.queue.qsize())
