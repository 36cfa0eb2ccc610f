"""Replay of the events stream after a client's Last-Event-ID (the stream sequence), up to a known sequence,
through a short-lived pull consumer fetched in batches."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prequel_common.subjects import EVENTS_STREAM, EVENTS_SUBJECTS

from prequel_gateway.hub import StreamItem

BATCH = 256


@dataclass(frozen=True)
class Window:
    first: int
    last: int


async def stream_window(js: JetStreamContext) -> Window:
    state = (await js.stream_info(EVENTS_STREAM)).state
    return Window(first=state.first_seq, last=state.last_seq)


async def replay(js: JetStreamContext, after: int, until: int, timeout_s: float = 2.0) -> AsyncIterator[StreamItem]:
    """Every stored event with ``after < seq <= until``, in order."""
    if until <= after:
        return
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=after + 1,
        ack_policy=AckPolicy.NONE,
        mem_storage=True,
        num_replicas=1,
        inactive_threshold=30.0,
    )
    sub = await js.pull_subscribe(EVENTS_SUBJECTS, stream=EVENTS_STREAM, config=config)
    try:
        seq = after
        while seq < until:
            try:
                msgs = await sub.fetch(min(BATCH, until - seq), timeout=timeout_s)
            except TimeoutError:
                return  # the rest was removed meanwhile (retention)
            for msg in msgs:
                seq = msg.metadata.sequence.stream
                if seq > until:
                    return
                yield StreamItem.decode(seq, msg.data)
    finally:
        with contextlib.suppress(Exception):
            await js.delete_consumer(EVENTS_STREAM, (await sub.consumer_info()).name)
        await sub.unsubscribe()
