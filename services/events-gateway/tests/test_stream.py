"""One stream's timing without a timer per client: the hub's clock, keepalives off the stream's path, the shared
operation_status snapshot, and ``client_stream`` put together (against a real NATS for the hub's feed)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext
from prequel_common.ids import new_interview_id, new_operation_id
from prequel_common.models import Operation
from prequel_common.status import OperationStatus, OperationType
from prequel_gateway.filters import EventFilter
from prequel_gateway.hub import Hub, StreamItem
from prequel_gateway.settings import GatewaySettings
from prequel_gateway.stream import StatusFrames, StreamDeps, client_stream
from sse_starlette import ServerSentEvent


@pytest.fixture
async def hub(js: JetStreamContext) -> AsyncIterator[Hub]:
    hub = Hub(js._nc, js, queue_size=100, tick_s=0.01)
    await hub.start()
    yield hub
    await hub.stop()


def _operation(interview_id: str | None = None) -> Operation:
    return Operation(
        id=new_operation_id(),
        type=OperationType.CREATE,
        status=OperationStatus.RUNNING,
        interview_id=interview_id or new_interview_id(),
        candidate_name="Ada Lovelace",
        challenge="python",
        created_at=datetime.now(UTC),
    )


def _item(seq: int) -> StreamItem:
    return StreamItem.decode(seq, json.dumps({"type": "scheduler_event", "n": seq}).encode())


async def test_the_clock_wakes_a_client_at_the_time_asked_for_and_not_before(hub: Hub) -> None:
    client = hub.register(EventFilter())
    loop = asyncio.get_running_loop()
    hub.wake_at(client, loop.time() + 10)
    hub.wake_at(client, loop.time() + 0.1)  # replaces the earlier one
    started = loop.time()
    await asyncio.wait_for(client.wait(), 2)
    assert client.due and 0.09 <= loop.time() - started < 1.0
    client.due = False
    hub.unregister(client)
    hub.wake_at(client, loop.time())
    with pytest.raises(TimeoutError):  # a stream that ended is not woken
        await asyncio.wait_for(client.wait(), 0.2)


async def test_events_wake_a_waiting_client_and_come_out_in_one_batch(hub: Hub) -> None:
    client = hub.register(EventFilter())
    waiting = asyncio.create_task(client.wait())
    await asyncio.sleep(0)
    for seq in (1, 2, 3):
        hub.publish(_item(seq))
    await asyncio.wait_for(waiting, 1)
    assert [item.seq for item in client.drain()] == [1, 2, 3]
    assert client.drain() == [] and not client.due


async def test_keepalives_run_off_the_stream_one_pending_per_client_and_a_failure_is_not_fatal(hub: Hub) -> None:
    client, other = hub.register(EventFilter()), hub.register(EventFilter())
    calls: list[str] = []

    async def failing() -> None:
        calls.append("failing")
        raise ConnectionError("redis is away")

    async def fine() -> None:
        calls.append("fine")

    hub.keep_alive(client, failing)
    hub.keep_alive(client, failing)  # already pending: not queued twice
    hub.keep_alive(other, fine)
    for _ in range(100):
        if len(calls) == 2:
            break
        await asyncio.sleep(0.01)
    assert calls == ["failing", "fine"]
    hub.keep_alive(client, fine)  # the worker survived the failure
    for _ in range(100):
        if len(calls) == 3:
            break
        await asyncio.sleep(0.01)
    assert calls == ["failing", "fine", "fine"]


async def test_concurrent_streams_share_one_load_of_the_active_operations_and_one_frame() -> None:
    mine = _operation()
    loads = 0

    async def load() -> list[Operation]:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)
        return [mine, _operation()]

    status = StatusFrames(load, max_age_s=10)
    frames = await asyncio.gather(*(status.frame(EventFilter()) for _ in range(50)))
    assert loads == 1
    assert frames[0] is not None and all(frame is frames[0] for frame in frames), "encoded once"
    assert b'"operation_status"' in frames[0] and mine.id.encode() in frames[0]
    only_mine = await status.frame(EventFilter(interview_id=mine.interview_id))
    assert only_mine is not None and mine.id.encode() in only_mine and only_mine.count(b'"id"') == 1
    assert await status.frame(EventFilter(interview_id="int-nobody00")) is None
    assert loads == 1


async def test_a_failed_load_keeps_the_previous_operations() -> None:
    away = ConnectionError("redis is away")
    results: list[list[Operation] | Exception] = [[_operation()], away, away]

    async def load() -> list[Operation]:
        result = results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    status = StatusFrames(load, max_age_s=0)
    first = await status.frame(EventFilter())
    assert first is not None
    await status.frame(EventFilter())  # starts the failing reload
    await asyncio.sleep(0.01)
    assert await status.frame(EventFilter()) == first


async def test_a_stream_gets_events_status_snapshots_keepalives_and_ends_with_a_reconnect(
    hub: Hub, js: JetStreamContext
) -> None:
    settings = GatewaySettings(
        nats_url="nats://unused",
        redis_url="redis://unused",
        api_tokens="user:token-0123456789abcdef",
        heartbeat_s=0.2,
        status_interval_s=0.2,
        max_stream_s=1.5,
    )
    active = [_operation()]

    async def active_operations() -> list[Operation]:
        return active

    keepalives = 0

    async def keepalive() -> None:
        nonlocal keepalives
        keepalives += 1

    deps = StreamDeps(js, hub, settings, active_operations)
    client = hub.register(EventFilter())
    seen: list[ServerSentEvent | bytes] = []
    started = asyncio.get_running_loop().time()

    async def read() -> None:
        async for chunk in client_stream(deps, client, None, keepalive):
            seen.append(chunk)
            if len(seen) == 3:
                hub.publish(_item(7))

    await asyncio.wait_for(read(), 5)
    lasted = asyncio.get_running_loop().time() - started
    assert isinstance(seen[0], ServerSentEvent) and b'"connection"' in seen[0].encode()
    assert isinstance(seen[-1], ServerSentEvent) and b'"reconnect"' in seen[-1].encode()
    assert 1.35 - 0.05 <= lasted < 2.5, "the end comes in the last tenth of the lifetime"
    frames = [chunk for chunk in seen if isinstance(chunk, bytes)]
    assert b"id: 7" in b"".join(frames)
    statuses = [frame for frame in frames if b'"operation_status"' in frame]
    assert 4 <= len(statuses) <= 9, "about every 0.2 s"
    assert 4 <= keepalives <= 9, "the slot is refreshed about every heartbeat interval"
    assert not any(b'"heartbeat"' in frame for frame in frames), "the heartbeat is sse-starlette's ping"
    assert hub.client_count == 0, "the stream unregistered itself"
