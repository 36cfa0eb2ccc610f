"""The gateway app served by uvicorn in the test's loop, read with a raw socket: the first frames of a stream, the
spec's heartbeat, the answers that refuse a stream, and the end of every stream at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from prequel_gateway.app import create_app
from prequel_gateway.settings import GatewaySettings

TOKEN = "app-test-token-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def gateway(nats_url: str, redis_url: str) -> AsyncIterator[int]:
    settings = GatewaySettings(
        nats_url=nats_url,
        redis_url=redis_url,
        redis_prefix="app-test",
        api_tokens=f"tester:{TOKEN}",
        heartbeat_s=0.3,
        port=_free_port(),
    )
    config = uvicorn.Config(create_app(settings), port=settings.port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield settings.port
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(serving, 10)


async def _data_lines(port: int, count: int) -> list[dict[str, object]]:
    """The first ``count`` lines of interest of a stream, each with the time it came (``at``, loop time)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /api/events?access_token={TOKEN} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    loop = asyncio.get_running_loop()
    seen: list[dict[str, object]] = []
    try:
        while len(seen) < count:
            line = await asyncio.wait_for(reader.readline(), 5)
            if line.startswith(b"retry:"):
                seen.append({"retry": int(line.split(b":")[1]), "at": loop.time()})
            elif line.startswith(b"data: "):
                seen.append({**json.loads(line[6:]), "at": loop.time()})
            elif line.startswith(b":"):
                seen.append({"comment": line.decode().strip(), "at": loop.time()})
    finally:
        writer.close()
    return seen


async def _status_of(port: int, request: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request.encode())
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
            0,
        )
        body = await asyncio.wait_for(reader.readexactly(length), 5) if length else b""
        return int(head.split(b" ")[1]), body
    finally:
        writer.close()


async def test_a_stream_starts_with_connection_then_heartbeats_every_interval_and_no_comment_pings(
    gateway: int,
) -> None:
    started = asyncio.get_running_loop().time()
    seen = await _data_lines(gateway, 5)
    assert seen[0]["type"] == "connection" and seen[1]["retry"] == 5000, "one frame: connection, retry: 5000"
    assert [s.get("type") for s in seen[2:]] == ["heartbeat"] * 3, seen
    assert "timestamp" in seen[2]
    times = [float(str(s["at"])) for s in seen[2:]]
    # the first one at a random point of the first interval (streams that connect together do not beat together)
    assert times[0] - started < 0.3 + 0.2
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert all(0.25 <= gap < 0.6 for gap in gaps), f"then one every 0.3 s: {gaps}"


async def test_a_stream_is_refused_without_a_token_with_a_bad_cursor_and_for_other_methods(gateway: int) -> None:
    assert (await _status_of(gateway, "GET /api/events HTTP/1.1\r\nHost: t\r\n\r\n"))[0] == 401
    wrong = "GET /api/events?access_token=wrong-token-0123456789 HTTP/1.1\r\nHost: t\r\n\r\n"
    assert (await _status_of(gateway, wrong))[0] == 401
    bad = f"GET /api/events?access_token={TOKEN} HTTP/1.1\r\nHost: t\r\nLast-Event-ID: ten\r\n\r\n"
    status, body = await _status_of(gateway, bad)
    assert status == 400 and "integer" in json.loads(body)["error"]
    post = f"POST /api/events?access_token={TOKEN} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
    assert (await _status_of(gateway, post))[0] == 405


def test_with_reuse_port_several_gateway_processes_can_listen_on_one_port() -> None:
    from prequel_gateway.__main__ import _reuse_port_socket

    port = _free_port()
    first, second = _reuse_port_socket("127.0.0.1", port), _reuse_port_socket("127.0.0.1", port)
    try:
        first.listen()
        second.listen()
        assert first.getsockname() == second.getsockname()
    finally:
        first.close()
        second.close()


async def test_at_shutdown_every_stream_gets_a_reconnect_hint_and_ends(gateway: int) -> None:
    from sse_starlette.sse import AppStatus

    reader, writer = await asyncio.open_connection("127.0.0.1", gateway)
    writer.write(f"GET /api/events?access_token={TOKEN} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    try:
        await asyncio.wait_for(reader.readuntil(b'"connection"'), 5)
        AppStatus.should_exit = True  # what SIGTERM sets (sse-starlette's hook on uvicorn's handle_exit)
        # to the end of the response (uvicorn then closes the idle connection as it shuts down)
        rest = await asyncio.wait_for(reader.readuntil(b"\r\n0\r\n\r\n"), 5)
    finally:
        AppStatus.should_exit = False
        writer.close()
    assert b'"reconnect"' in rest and b"shutting down" in rest
