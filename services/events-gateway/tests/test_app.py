"""The gateway app served by uvicorn in the test's loop, read with a raw socket: the first frames of a stream, the
spec's heartbeat, the answers that refuse a stream, and the end of every stream at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from nats.js import JetStreamContext
from prequel_gateway.app import Gateway, create_app
from prequel_gateway.settings import GatewaySettings

TOKEN = "app-test-token-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def _serving(nats_url: str, redis_url: str, **overrides: object) -> AsyncIterator[tuple[int, Gateway]]:
    settings = GatewaySettings(
        nats_url=nats_url,
        redis_url=redis_url,
        redis_prefix="app-test",
        api_tokens=f"tester:{TOKEN}",
        heartbeat_s=0.3,
        port=_free_port(),
        **overrides,  # type: ignore[arg-type]
    )
    app = create_app(settings)
    config = uvicorn.Config(app, port=settings.port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield settings.port, app
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(serving, 10)


@pytest.fixture
async def gateway(nats_url: str, redis_url: str) -> AsyncIterator[int]:
    async with _serving(nats_url, redis_url) as (port, _app):
        yield port


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
        has_body = length and not request.startswith("HEAD")
        body = await asyncio.wait_for(reader.readexactly(length), 5) if has_body else b""
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
    # the first one 0.9 to 1 interval after connecting (streams that connect together do not beat together)
    assert 0.27 - 0.02 <= times[0] - started < 0.3 + 0.2
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
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
    assert (await _status_of(gateway, "HEAD /api/events HTTP/1.1\r\nHost: t\r\n\r\n"))[0] == 401
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway)
    writer.write(f"HEAD /api/events?access_token={TOKEN} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    writer.close()
    assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head, "HEAD: a GET's headers, no stream"


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


async def _open_stream(port: int, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    await loop.sock_sendall(sock, f"GET /api/events?access_token={TOKEN} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    got = b""
    while b'"connection"' not in got:
        got += await asyncio.wait_for(loop.sock_recv(sock, 65536), 5)
    return sock


async def test_a_client_that_stops_reading_is_disconnected_while_another_receives_every_event(
    nats_url: str, redis_url: str, js: JetStreamContext
) -> None:
    loop = asyncio.get_running_loop()
    events, size = 400, 20_000  # 8 MB: more than the kernel's and uvicorn's buffers for the stuck client hold
    async with _serving(nats_url, redis_url, client_queue=5) as (port, app):
        slow = await _open_stream(port, rcvbuf=4096)  # reads the connection event, then nothing
        fast = await _open_stream(port)
        hub = app.api.state.deps.hub
        while hub.client_count < 2 or any(client.send is None for client in hub._clients):
            await asyncio.sleep(0.01)  # both live
        received = b""

        async def read_fast() -> None:
            nonlocal received
            while received.count(b"\r\nid: ") + received.startswith(b"id: ") < events:
                received += await loop.sock_recv(fast, 1 << 20)

        reader = asyncio.create_task(read_fast())
        seqs = []
        for n in range(events):
            body = json.dumps({"type": "scheduler_event", "event": {"interviewId": "int-slow0001", "n": n}})
            seqs.append(
                (
                    await js.publish(f"prequel.evt.test.{n}", (body[:-2] + ', "pad": "' + "x" * size + '"}}').encode())
                ).seq
            )
        await asyncio.wait_for(reader, 30)
        ids = [int(line[4:]) for line in received.split(b"\r\n") if line.startswith(b"id: ")]
        assert ids == seqs, "the reading client got every event once, in order"
        assert hub.dropped == 1 and hub.client_count == 1, "the stuck one was cut off and is no longer fed"
        # what the stuck client finds when it reads again: the events it had room for, in order, then the end of
        # the connection (no last chunk: the response was dropped; the browser reconnects with its last id)
        rest = b""
        while chunk := await asyncio.wait_for(loop.sock_recv(slow, 1 << 20), 10):
            rest += chunk
        slow_ids = [int(line[4:]) for line in rest.split(b"\r\n") if line.startswith(b"id: ")]
        assert slow_ids == seqs[: len(slow_ids)] and len(slow_ids) < events
        assert not rest.endswith(b"\r\n0\r\n\r\n")
        slow.close()
        fast.close()


def test_sigterm_ends_every_stream_with_a_reconnect_hint_and_the_process_exits(nats_url: str, redis_url: str) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    port = _free_port()
    env = {
        **os.environ,
        "PREQUEL_NATS_URL": nats_url,
        "PREQUEL_REDIS_URL": redis_url,
        "PREQUEL_REDIS_PREFIX": "sigterm-test",
        "PREQUEL_API_TOKENS": f"tester:{TOKEN}",
        "PREQUEL_PORT": str(port),
    }
    proc = subprocess.Popen([sys.executable, "-m", "prequel_gateway"], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "the gateway did not start"
                time.sleep(0.1)
        sock.sendall(f"GET /api/events?access_token={TOKEN} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        got = b""
        while b'"connection"' not in got:
            got += sock.recv(65536)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        while chunk := sock.recv(65536):  # to the end: the gateway ends the stream and closes the connection
            got += chunk
        sock.close()
        assert b'"reconnect"' in got and b"shutting down" in got
        assert got.endswith(b"\r\n0\r\n\r\n"), "the response was ended properly"
        assert proc.wait(10) in (0, -signal.SIGTERM), "exited (uvicorn re-raises the signal once it is done)"
        assert time.monotonic() - started < 5, "no waiting on the stream"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        errors = proc.stderr.read().decode()
    assert "Traceback" not in errors and '"level": "error"' not in errors, errors
