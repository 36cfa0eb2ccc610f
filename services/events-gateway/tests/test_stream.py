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
from prequel_gateway.stream import StatusFrames, StreamDeps, run_stream


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


async def test_a_stream_gets_events_status_snapshots_heartbeats_keepalives_and_ends_with_a_reconnect(
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
    writes: list[bytes] = []

    async def send(message: dict[str, object]) -> None:
        assert message["type"] == "http.response.body" and message["more_body"] is True
        body = message["body"]
        assert isinstance(body, bytes)
        writes.append(body)
        if len(writes) == 3:
            hub.publish(_item(7))

    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(run_stream(deps, client, None, keepalive, send), 5)
    lasted = asyncio.get_running_loop().time() - started
    assert b'"connection"' in writes[0] and b"retry: 5000" in writes[0]
    assert b'"reconnect"' in writes[-1] and b"maximum stream lifetime" in writes[-1]
    assert 1.35 - 0.05 <= lasted < 2.5, "the end comes in the last tenth of the lifetime"
    assert b"id: 7" in b"".join(writes)
    statuses = [frame for frame in writes if b'"operation_status"' in frame]
    assert 4 <= len(statuses) <= 9, "about every 0.2 s"
    heartbeats = [frame for frame in writes if b'"heartbeat"' in frame]
    assert 4 <= len(heartbeats) <= 9, "about every 0.2 s"
    assert 4 <= keepalives <= 9, "the slot is refreshed with every heartbeat"
    hub.unregister(client)


def _quiet_deps(hub: Hub, js: JetStreamContext) -> StreamDeps:
    """A stream's dependencies with no active operation (no status snapshot)."""
    settings = GatewaySettings(
        nats_url="nats://unused", redis_url="redis://unused", api_tokens="user:token-0123456789abcdef"
    )

    async def no_operations() -> list[Operation]:
        return []

    return StreamDeps(js, hub, settings, no_operations)


async def _keepalive() -> None:
    return None


async def test_a_live_event_is_written_by_the_hub_without_waking_the_stream_and_queued_when_the_connection_is_full(
    hub: Hub, js: JetStreamContext
) -> None:
    deps = _quiet_deps(hub, js)
    client = hub.register(EventFilter())
    writes: list[tuple[str, bytes]] = []
    full = asyncio.Event()
    full.set()  # the connection takes writes at once
    stream_task: asyncio.Task[None] | None = None

    async def send(message: dict[str, object]) -> None:
        await full.wait()  # like uvicorn: wait (before writing) while the connection's buffer is full
        body = message["body"]
        assert isinstance(body, bytes)
        who = "stream" if asyncio.current_task() is stream_task else "hub"
        writes.append((who, body))

    stream_task = asyncio.create_task(run_stream(deps, client, None, _keepalive, send))
    while client.send is None:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # waiting for something to do
    hub.publish(_item(1))
    assert writes[-1] == ("hub", _item(1).frame), "written in the hub's loop, at once"
    full.clear()
    hub.publish(_item(2))  # the connection would make it wait: queued for the stream
    hub.publish(_item(3))  # and so is what comes after it, in order
    assert client.items and len(writes) == 2
    full.set()
    for _ in range(100):
        if len(writes) == 3:
            break
        await asyncio.sleep(0.01)
    assert writes[2] == ("stream", _item(2).frame + _item(3).frame), "the stream sends the queue in one write"
    await asyncio.sleep(0.05)
    hub.publish(_item(4))
    assert writes[-1] == ("hub", _item(4).frame), "and the hub writes directly again"
    client.gone = True
    client.wake()
    await asyncio.wait_for(stream_task, 2)
    hub.unregister(client)


async def test_a_client_stuck_in_a_write_is_cancelled_when_its_queue_overflows(hub: Hub, js: JetStreamContext) -> None:
    deps = _quiet_deps(hub, js)
    client = hub.register(EventFilter())
    never = asyncio.Event()
    connected = asyncio.Event()

    async def send(message: dict[str, object]) -> None:
        if connected.is_set():
            await never.wait()  # a client that stopped reading
        connected.set()

    client.task = stream_task = asyncio.create_task(run_stream(deps, client, None, _keepalive, send))
    await asyncio.wait_for(connected.wait(), 2)
    while client.send is None:
        await asyncio.sleep(0.01)
    hub.publish(_item(1))  # the connection would make the hub wait: the stream takes it, and is stuck in the write
    await asyncio.sleep(0.05)
    assert client.sending
    for seq in range(2, 200):  # the hub's queue for this test holds 100
        hub.publish(_item(seq))
    assert client.overflowed and hub.client_count == 0, "cut off, and no longer fed"
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(stream_task, 2)


async def test_events_that_arrive_together_go_out_in_one_write_per_client_each_its_own(
    hub: Hub, js: JetStreamContext
) -> None:
    deps = _quiet_deps(hub, js)
    writes: dict[str, list[bytes]] = {"all": [], "mine": []}
    tasks = []
    for name, event_filter in (("all", EventFilter()), ("mine", EventFilter(interview_id="int-mine0001"))):
        client = hub.register(event_filter)

        async def send(message: dict[str, object], name: str = name) -> None:
            body = message["body"]
            assert isinstance(body, bytes)
            writes[name].append(body)

        tasks.append(asyncio.create_task(run_stream(deps, client, None, _keepalive, send)))
    while any(client.send is None for client in hub._clients):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    raw = [
        json.dumps({"type": "scheduler_event", "event": {"interviewId": interview, "n": n}}).encode()
        for n, interview in enumerate(["int-mine0001", "int-other001", "int-mine0001"], start=1)
    ]
    for seq, data in enumerate(raw, start=1):  # as the feed hands them over within one turn of the loop
        hub._on_message(seq, data)
    assert len(writes["all"]) == 1 and len(writes["mine"]) == 1, "nothing before the end of the turn"
    await asyncio.sleep(0)
    frames = [StreamItem.decode(seq, data).frame for seq, data in enumerate(raw, start=1)]
    assert writes["all"][1:] == [b"".join(frames)], "one write for the three"
    assert writes["mine"][1:] == [frames[0] + frames[2]], "one write for the two of its interview"
    for client in list(hub._clients):
        client.gone = True
        client.wake()
    await asyncio.wait_for(asyncio.gather(*tasks), 2)
