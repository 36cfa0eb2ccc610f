"""The hub and the replay against a real NATS JetStream: fan-out, slow clients, filters, resume, resync."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from nats.js import JetStreamContext
from prequel_common.bus import EventPublisher
from prequel_common.events import SchedulerEvent, SchedulerEventBody
from prequel_common.subjects import EVENTS_STREAM, scheduler_event_subject
from prequel_gateway.filters import EventFilter
from prequel_gateway.hub import Client, Hub
from prequel_gateway.replay import replay, stream_window


async def _publish(js: JetStreamContext, n: int, interview_id: str = "int-aaaa1111") -> list[int]:
    events = EventPublisher(js)
    seqs = []
    for i in range(n):
        event = SchedulerEvent(
            event=SchedulerEventBody(type="extended", operation_id=f"op-{i}", interview_id=interview_id)
        )
        seqs.append(await events.publish(scheduler_event_subject(interview_id), event, correlation_id=interview_id))
    return seqs


@pytest.fixture
async def hub(js: JetStreamContext) -> AsyncIterator[Hub]:
    hub = Hub(js._nc, js, queue_size=3)
    await hub.start()
    yield hub
    await hub.stop()


async def _drain(client: Client, count: int, timeout_s: float = 5.0) -> list[int]:
    got: list[int] = []
    deadline = asyncio.get_running_loop().time() + timeout_s
    while len(got) < count and asyncio.get_running_loop().time() < deadline:
        got += [item.seq for item in await client.take(0.5)]
    return got


async def test_a_slow_client_is_dropped_while_a_fast_one_keeps_receiving(hub: Hub, js: JetStreamContext) -> None:
    slow = hub.register(EventFilter())
    fast = hub.register(EventFilter())
    received: list[int] = []

    async def read_fast() -> None:
        while len(received) < 10:
            received.extend(item.seq for item in await fast.take(1.0))

    reader = asyncio.create_task(read_fast())
    seqs = await _publish(js, 10)
    await asyncio.wait_for(reader, 5)
    assert received == seqs
    assert slow.overflowed, "a client that never reads is cut off"
    assert len(slow.items) == 3, "its memory stays bounded by the queue size"
    assert hub.client_count == 1 and hub.dropped == 1


async def test_filters_pass_only_the_interview_asked_for(hub: Hub, js: JetStreamContext) -> None:
    mine = hub.register(EventFilter(interview_id="int-mine0001"))
    await _publish(js, 2, "int-other001")
    wanted = await _publish(js, 2, "int-mine0001")
    assert await _drain(mine, 2) == wanted
    assert not mine.items


async def test_replay_returns_exactly_the_events_between_two_ids(js: JetStreamContext) -> None:
    seqs = await _publish(js, 6)
    got = [item.seq async for item in replay(js, seqs[1], seqs[4])]
    assert got == seqs[2:5]
    assert [item.seq async for item in replay(js, seqs[5], seqs[5])] == []


async def test_the_window_moves_when_old_events_are_removed(js: JetStreamContext) -> None:
    seqs = await _publish(js, 5)
    await js.purge_stream(EVENTS_STREAM, keep=2)
    window = await stream_window(js)
    assert window.first == seqs[3] and window.last == seqs[4]
