"""The gateway app served by uvicorn in the test's loop, read with a raw socket: the first frames of a stream and
the spec's heartbeat, which is sse-starlette's ping."""

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
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /api/events?access_token={TOKEN} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    seen: list[dict[str, object]] = []
    try:
        while len(seen) < count:
            line = await asyncio.wait_for(reader.readline(), 5)
            if line.startswith(b"retry:"):
                seen.append({"retry": int(line.split(b":")[1])})
            elif line.startswith(b"data: "):
                seen.append(json.loads(line[6:]))
            elif line.startswith(b":"):
                seen.append({"comment": line.decode().strip()})
    finally:
        writer.close()
    return seen


async def test_a_stream_starts_with_connection_then_heartbeats_every_interval_and_no_comment_pings(
    gateway: int,
) -> None:
    started = asyncio.get_running_loop().time()
    seen = await _data_lines(gateway, 5)
    assert seen[0]["type"] == "connection" and seen[1] == {"retry": 5000}, "one frame: connection, retry: 5000"
    assert [s.get("type") for s in seen[2:]] == ["heartbeat"] * 3, seen
    assert "timestamp" in seen[2]
    assert 0.8 <= asyncio.get_running_loop().time() - started < 3, "one every 0.3 s"


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
