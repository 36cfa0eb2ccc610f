"""The gateway's live feed of the events stream: one ephemeral push consumer, managed here rather than by the
client library's "ordered consumer" (whose automatic reset restarts from the beginning of the stream when nothing
was received yet, and which we saw stall silently on a busy machine).

Delivery starts right after the stream's last sequence at start. Every few seconds the consumer is checked, and
if it is gone (a NATS restart drops it) it is created again from the last sequence seen, so nothing is skipped;
a message already seen is never passed on twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from prequel_common.subjects import EVENTS_STREAM, EVENTS_SUBJECTS

log = structlog.get_logger(__name__)

OnMessage = Callable[[int, bytes], None]


class EventFeed:
    def __init__(self, nc: NATS, js: JetStreamContext, on_message: OnMessage, check_s: float = 5.0) -> None:
        self._nc = nc
        self._js = js
        self._on_message = on_message
        self._check_s = check_s
        self._inbox = nc.new_inbox()
        self._sub: Subscription | None = None
        self._consumer: str | None = None
        self._watch: asyncio.Task[None] | None = None
        self.last_seq = 0

    async def start(self) -> None:
        self.last_seq = (await self._js.stream_info(EVENTS_STREAM)).state.last_seq
        self._sub = await self._nc.subscribe(self._inbox, cb=self._on_msg)
        await self._create()
        self._watch = asyncio.create_task(self._keep_alive())

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._sub is not None:
            await self._sub.unsubscribe()
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._js.delete_consumer(EVENTS_STREAM, self._consumer)

    async def _create(self) -> None:
        config = ConsumerConfig(
            deliver_subject=self._inbox,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=self.last_seq + 1,
            ack_policy=AckPolicy.NONE,
            filter_subject=EVENTS_SUBJECTS,
            mem_storage=True,
            num_replicas=1,
            inactive_threshold=60.0,
        )
        info = await self._js.add_consumer(EVENTS_STREAM, config)
        self._consumer = info.name
        log.info("event feed consuming", from_seq=self.last_seq + 1)

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self._check_s)
            try:
                await self._js.consumer_info(EVENTS_STREAM, self._consumer or "")
            except NotFoundError:
                log.warning("event feed consumer gone; resuming", after_seq=self.last_seq)
                with contextlib.suppress(Exception):
                    await self._create()
            except Exception as exc:  # NATS unreachable: try again on the next check
                log.warning("event feed check failed", error=repr(exc))

    async def _on_msg(self, msg: Msg) -> None:
        seq = msg.metadata.sequence.stream
        if seq <= self.last_seq:
            return
        self.last_seq = seq
        self._on_message(seq, msg.data)
