"""One subscription to the events stream per process, fanned out to every connected client in memory.

Each message is decoded once (for the filters) and its SSE frame encoded once, then offered to every client's
bounded mailbox. A client that falls that far behind is marked overflowed and disconnected (its browser reconnects
with Last-Event-ID and loses nothing) instead of growing memory.

The hub also keeps the time for its clients: a stream's next deadline (slot refresh, status snapshot, end of life)
is an entry in one heap checked by one task every ``tick_s``, not a timer per client re-armed on every event; and
it runs the streams' slot refreshes one after the other, off their path.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

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
    #: the ASGI message that writes ``frame``, made once for every client (no layer of the send path changes it)
    message: dict[str, Any] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", {"type": "http.response.body", "body": self.frame, "more_body": True})

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


Send = Callable[[dict[str, Any]], Awaitable[None]]


def _message(items: list[StreamItem]) -> dict[str, Any]:
    """The ASGI message that writes several events at once."""
    return {"type": "http.response.body", "body": b"".join(item.frame for item in items), "more_body": True}


def write_now(send: Send, message: dict[str, Any]) -> bool:
    """Send ``message`` if the connection takes it without waiting, i.e. run ``send`` up to its first suspension.

    uvicorn's send waits only when the connection's write buffer is full (the client reads slowly), and it waits
    *before* writing anything; so a send that would wait is abandoned with nothing written and False returned (the
    caller queues the message for the stream, whose own send waits properly). A send that fails returns False too:
    the stream's own send meets the same error and ends the stream.
    """
    step = send(message)
    try:
        step.send(None)  # type: ignore[attr-defined]
    except StopIteration:
        return True
    except Exception:
        return False
    step.close()  # type: ignore[attr-defined]
    return False


class Client:
    """One stream's mailbox: at most ``limit`` undelivered events, taken all at once (one write per batch).

    Its stream waits in :meth:`wait` until there is something to do: events, an overflow, ``due`` (set by the
    hub's clock at the time asked for with :meth:`Hub.wake_at`), the client gone or the gateway closing. A plain
    future, no timer.

    A live ``/api/events`` stream also lends its connection's ``send`` to the client (:attr:`send`). While the
    stream waits with nothing queued, an event is then written straight to the connection from the hub's loop,
    without waking the stream at all: a broadcast to 10,000 clients is 10,000 writes in one loop, not 10,000 task
    wake-ups and sends. An event the connection cannot take at once (its buffer is full), or any event while
    others are queued or the stream is busy, goes to the mailbox and the stream sends it, in order. A mailbox that
    fills up disconnects the client (:meth:`Hub.publish`); a stream stuck in a send to it is cancelled then
    (:attr:`task`), so that it ends at once.
    """

    __slots__ = (
        "_waiter",
        "aborted",
        "closing",
        "due",
        "due_at",
        "everything",
        "filter",
        "gone",
        "items",
        "limit",
        "overflowed",
        "send",
        "sending",
        "skip_until",
        "task",
    )

    def __init__(self, event_filter: EventFilter, limit: int) -> None:
        self.filter = event_filter
        self.everything = not event_filter.interview_id and not event_filter.operation_id
        self.limit = limit
        self.items: list[StreamItem] = []
        self.overflowed = False
        #: a deadline asked for with Hub.wake_at has passed (the stream clears it)
        self.due = False
        self.due_at = 0.0
        #: the client went away (its stream ends without another write)
        self.gone = False
        #: the gateway is shutting down (its stream says so and ends)
        self.closing = False
        self._waiter: asyncio.Future[None] | None = None
        #: the connection's ASGI send, lent by a live stream so that the hub writes to it directly
        self.send: Send | None = None
        #: events up to this sequence were sent already (by the replay): later copies are dropped
        self.skip_until = 0
        #: the stream's task, and whether it is in a send (what :meth:`abort` cancels)
        self.task: asyncio.Task[Any] | None = None
        self.sending = False
        self.aborted = False

    def offer_many(self, items: list[StreamItem], message: dict[str, Any]) -> bool:
        """Deliver or queue ``items`` (in order; ``message`` writes them all); False if the mailbox overflows."""
        if items[0].seq <= self.skip_until:  # right after a replay: copies of replayed events
            items = [item for item in items if item.seq > self.skip_until]
            if not items:
                return True
            message = _message(items)
        # written at once if the stream waits with nothing queued (not connecting, replaying or sending) and the
        # connection takes them without waiting; queued for the stream otherwise, in order
        if not self.items and self._waiter is not None and self.send is not None and write_now(self.send, message):
            return True
        if len(self.items) + len(items) > self.limit:
            self.overflowed = True
            self.abort()
            return False
        self.items.extend(items)
        self.wake()
        return True

    def abort(self) -> None:
        """End the stream now, even if it is stuck in a write to a client that does not read (it is cancelled)."""
        self.aborted = True
        self.wake()
        if self.sending and self.task is not None:
            self.task.cancel()

    def wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Until there are events, the client overflowed or went away, a deadline is due, or the gateway closes."""
        if self.items or self.overflowed or self.due or self.gone or self.closing or self.aborted:
            return
        self._waiter = waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def drain(self) -> list[StreamItem]:
        batch, self.items = self.items, []
        return batch

    async def take(self, wait_s: float) -> list[StreamItem]:
        """What is waiting, after at most ``wait_s`` seconds (possibly nothing)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, wait_s)):
                await self.wait()
        return self.drain()


#: at shutdown, how long a stream may take to send its reconnect hint before it is aborted
CLOSE_GRACE_S = 1.0


class Hub:
    def __init__(
        self,
        nc: NATS,
        js: JetStreamContext,
        queue_size: int,
        tick_s: float = 0.1,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self._feed = EventFeed(nc, js, self._on_message)
        #: checked on every tick: once true, every stream is told to reconnect elsewhere and ends
        self._stopping = stopping
        self.closing = False
        self._closed_at = 0.0
        self._queue_size = queue_size
        self._tick_s = tick_s
        self._clients: set[Client] = set()
        #: events received in this turn of the loop, not yet fanned out
        self._arrived: list[StreamItem] = []
        self._timers: list[tuple[float, int, Client]] = []
        self._ticket = itertools.count()
        self._clock: asyncio.Task[None] | None = None
        self._keepalives: OrderedDict[Client, Callable[[], Awaitable[None]]] = OrderedDict()
        self._keepalive_wanted = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None
        self.dropped = 0

    @property
    def client_count(self) -> int:
        return len(self._clients)

    async def start(self) -> None:
        await self._feed.start()
        self._clock = asyncio.create_task(self._run_clock())
        self._keeper = asyncio.create_task(self._run_keepalives())

    async def stop(self) -> None:
        for task in (self._clock, self._keeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._feed.stop()

    def register(self, event_filter: EventFilter) -> Client:
        client = Client(event_filter, self._queue_size)
        client.closing = self.closing
        self._clients.add(client)
        return client

    def close_all(self) -> None:
        """The gateway is shutting down: every stream ends (with a reconnect hint); new ones end at once. A stream
        still stuck in a write a second later is aborted (see :meth:`_run_clock`), so that shutdown never waits on
        a client that does not read."""
        self.closing = True
        self._closed_at = asyncio.get_running_loop().time()
        for client in self._clients:
            client.closing = True
            client.wake()

    def unregister(self, client: Client) -> None:
        self._clients.discard(client)
        self._keepalives.pop(client, None)

    def keep_alive(self, client: Client, keepalive: Callable[[], Awaitable[None]]) -> None:
        """Run a stream's keepalive (its per-user slot refresh in Redis) off the stream's path, in order, at most
        one pending per client: a slow or failing Redis neither delays that client's events nor ends its stream
        (the slot outlives a few missed refreshes)."""
        if client in self._clients and client not in self._keepalives:
            self._keepalives[client] = keepalive
            self._keepalive_wanted.set()

    async def _run_keepalives(self) -> None:
        while True:
            await self._keepalive_wanted.wait()
            while self._keepalives:
                _client, keepalive = self._keepalives.popitem(last=False)
                try:
                    await keepalive()
                except Exception as exc:
                    log.warning("stream keepalive failed", error=repr(exc))
            self._keepalive_wanted.clear()

    def wake_at(self, client: Client, when: float) -> None:
        """Set ``client.due`` and wake it at loop time ``when`` (to within ``tick_s``); replaces an earlier call."""
        client.due_at = when
        heapq.heappush(self._timers, (when, next(self._ticket), client))

    async def _run_clock(self) -> None:
        loop = asyncio.get_running_loop()
        timers = self._timers
        while True:
            await asyncio.sleep(self._tick_s)
            if not self.closing and self._stopping():
                log.info("closing every stream: the gateway is shutting down", streams=len(self._clients))
                self.close_all()
            now = loop.time()
            if self.closing and now - self._closed_at > CLOSE_GRACE_S:
                for client in [c for c in self._clients if c.sending]:
                    client.abort()
            while timers and timers[0][0] <= now:
                when, _, client = heapq.heappop(timers)
                if client.due_at == when and client in self._clients:
                    client.due = True
                    client.wake()

    def _on_message(self, seq: int, data: bytes) -> None:
        """Events that arrive together (the feed hands over what one read from NATS brought, without a pause) are
        fanned out together, at the end of the loop's turn: one write per client for all of them."""
        self._arrived.append(StreamItem.decode(seq, data))
        if len(self._arrived) == 1:
            asyncio.get_running_loop().call_soon(self._fan_out_arrived)

    def _fan_out_arrived(self) -> None:
        batch, self._arrived = self._arrived, []
        self.publish_many(batch)

    def publish(self, item: StreamItem) -> None:
        self.publish_many([item])

    def publish_many(self, items: list[StreamItem]) -> None:
        """Offer ``items`` (in stream order) to every client they are for."""
        if not items:
            return
        everything = items[0].message if len(items) == 1 else _message(items)
        dropped = []
        for client in self._clients:
            if client.everything:
                delivered = client.offer_many(items, everything)
            else:
                mine = [item for item in items if client.filter.matches(item)]
                delivered = not mine or client.offer_many(mine, mine[0].message if len(mine) == 1 else _message(mine))
            if not delivered:
                dropped.append(client)
        for client in dropped:
            self._clients.discard(client)
            self.dropped += 1
            log.warning("slow SSE client disconnected", queued=len(client.items))
