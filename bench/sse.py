"""SSE fan-out benchmark: N concurrent clients on one events-gateway process.

    .venv/bin/python bench/sse.py [--clients 1000 5000 10000] [--events 20]

Starts nats-server, redis-server and one gateway process on free ports, opens N raw SSE connections from this
process (asyncio sockets, no HTTP library overhead), publishes events stamped with their send time straight to the
events stream, and prints a table: broadcast delivery latency (publish -> client read) p50/p99/max, and the
gateway's resident memory per client. Targets at 10,000 clients: p99 <= 200 ms, <= 30 KB per client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dev"))

from prequel_common import bus
from stack import Proc, free_port, nats_server_binary, redis_server_binary, wait_for_port

TOKEN = "bench-token-0123456789abcdef"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Client:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.connected = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = f"GET /api/events?access_token={TOKEN} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"
        writer.write(request.encode())
        await writer.drain()
        try:
            while line := await reader.readline():
                if line.startswith(b"data: "):
                    if b'"connection"' in line:
                        self.connected.set()
                    elif b'"benchSentNs"' in line:
                        sent = json.loads(line[6:])["benchSentNs"]
                        self.latencies.append((time.time_ns() - sent) / 1e6)
        finally:
            writer.close()


async def run_level(gateway: Proc, port: int, js: bus.JetStreamContext, clients: int, events: int) -> dict[str, float]:
    assert gateway.popen is not None
    base_kb = rss_kb(gateway.popen.pid)
    pool = [Client() for _ in range(clients)]
    for i in range(0, clients, 500):  # connect in waves
        for client in pool[i : i + 500]:
            client.task = asyncio.create_task(client.run(port))
        await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in pool[i : i + 500])), 60)
    print(f"  {clients} clients connected", file=sys.stderr, flush=True)
    await asyncio.sleep(1.0)
    connected_kb = rss_kb(gateway.popen.pid)
    for n in range(events):
        payload = {"type": "scheduler_event", "benchSentNs": time.time_ns(), "n": n}
        await js.publish("prequel.evt.bench.x", json.dumps(payload).encode())
        await asyncio.sleep(0.2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sum(len(c.latencies) for c in pool) < clients * events:
        await asyncio.sleep(0.2)
    latencies = sorted(lat for c in pool for lat in c.latencies)
    for client in pool:
        assert client.task is not None
        client.task.cancel()
    await asyncio.gather(*(c.task for c in pool if c.task), return_exceptions=True)
    await asyncio.sleep(2)
    return {
        "clients": clients,
        "delivered": len(latencies) / (clients * events) * 100,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "max": latencies[-1],
        "rss_mb": connected_kb / 1024,
        "kb_per_client": (connected_kb - base_kb) / clients,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))

    root = Path(tempfile.mkdtemp(prefix="bench-sse-"))
    nats_port, redis_port, gw_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "PREQUEL_NATS_URL": f"nats://127.0.0.1:{nats_port}",
        "PREQUEL_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "PREQUEL_API_TOKENS": f"bench:{TOKEN}",
        "PREQUEL_PORT": str(gw_port),
        "PREQUEL_RATE_LIMIT_SSE_CONNECTIONS": "1000000",
        "PREQUEL_LOG_LEVEL": "WARNING",
        "PREQUEL_LOG_FORMAT": "json",
    }
    procs = [
        Proc(
            "nats",
            [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(nats_port), "-sd", str(root / "js")],
            env,
            root / "nats.log",
            nats_port,
        ),
        Proc(
            "redis",
            [redis_server_binary(), "--port", str(redis_port), "--save", ""],
            env,
            root / "redis.log",
            redis_port,
        ),
        Proc("gateway", [sys.executable, "-m", "prequel_gateway"], env, root / "gateway.log", gw_port),
    ]
    try:
        for proc in procs:
            proc.start()
            assert proc.port is not None
            wait_for_port(proc.port, timeout_s=30, proc=proc.popen)
        nc = await bus.connect(env["PREQUEL_NATS_URL"], "bench")
        js = nc.jetstream()
        rows = [await run_level(procs[2], gw_port, js, n, args.events) for n in args.clients]
        await bus.close(nc)
    finally:
        for proc in reversed(procs):
            proc.stop()
    print(
        f"\nSSE fan-out, one gateway process — {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, "
        f"{args.events} events per level, clients in this same process\n"
    )
    print("| clients | delivered | p50 ms | p99 ms | max ms | gateway RSS MB | KB per client |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['clients']:,} | {r['delivered']:.1f}% | {r['p50']:.1f} | {r['p99']:.1f} | {r['max']:.1f} "
            f"| {r['rss_mb']:.0f} | {r['kb_per_client']:.1f} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
