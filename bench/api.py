"""API create throughput, against a bare FastAPI endpoint measured in the same run.

    .venv/bin/python bench/api.py [--seconds 10] [--concurrency 16]

The api runs as `make run` runs it (its own process, real NATS and Redis, auth, validation, rate limits lifted,
the Redis transaction, the events and the command published); no provisioner runs, so nothing is provisioned. The
baseline is a FastAPI app in its own process that validates the same request model and answers at once: the
difference is what the api's real work costs. One load generator (httpx, keep-alive) on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dev"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from results_file import emit, markdown_table
from stack import Proc, free_port, nats_server_binary, redis_server_binary, wait_for_port

TOKEN = "bench-token-0123456789abcdef"
BODY = {"candidateName": "Load Test", "challenge": "python", "autoDestroyMinutes": 30}

BARE_APP = """
import sys
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field

class Body(BaseModel):
    candidateName: str = Field(min_length=1, max_length=100)
    challenge: str
    autoDestroyMinutes: int

app = FastAPI()

@app.post("/api/interviews/create")
async def create(body: Body) -> dict[str, str]:
    return {"interviewId": "int-0000000000", "candidateName": body.candidateName, "message": "ok"}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


async def load(url: str, seconds: float, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {TOKEN}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as http:
        for _ in range(20):  # warm up
            await http.post("/api/interviews/create", json=BODY)
        end = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < end:
                started = time.perf_counter()
                reply = await http.post("/api/interviews/create", json=BODY)
                latencies.append(time.perf_counter() - started)
                errors += reply.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-api-"))
    nats_port, redis_port, api_port, bare_port = free_port(), free_port(), free_port(), free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "PREQUEL_NATS_URL": f"nats://127.0.0.1:{nats_port}",
        "PREQUEL_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "PREQUEL_API_TOKENS": f"bench:{TOKEN}",
        "PREQUEL_PORT": str(api_port),
        "PREQUEL_LOG_LEVEL": "WARNING",
        "PREQUEL_LOG_FORMAT": "json",
        "PREQUEL_RATE_LIMIT_CREATES_PER_MINUTE": "100000000",
        "PREQUEL_RATE_LIMIT_QUERIES_PER_MINUTE": "100000000",
    }
    procs = [
        Proc(
            "nats",
            [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(nats_port), "-sd", str(root / "js")],
            env,
            root / "n.log",
        ),
        Proc(
            "redis",
            [redis_server_binary(), "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""],
            env,
            root / "r.log",
        ),
        Proc("api", [sys.executable, "-m", "prequel_api"], env, root / "api.log"),
        Proc("bare", [sys.executable, "-c", BARE_APP, str(bare_port)], env, root / "bare.log"),
    ]
    try:
        for proc, port in zip(procs, (nats_port, redis_port, api_port, bare_port), strict=True):
            proc.start()
            wait_for_port(port, timeout_s=60, proc=proc.popen)
        bare = asyncio.run(load(f"http://127.0.0.1:{bare_port}", args.seconds, args.concurrency))
        api = asyncio.run(load(f"http://127.0.0.1:{api_port}", args.seconds, args.concurrency))
    finally:
        for proc in reversed(procs):
            proc.stop()
    rows = [
        {"endpoint": "bare FastAPI (validation only)", **bare},
        {"endpoint": "api: POST /api/interviews/create", **api},
    ]
    body = [
        [
            r["endpoint"],
            f"{r['requests']:,.0f}",
            f"{r['errors']:.0f}",
            f"{r['rps']:.0f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
        ]
        for r in rows
    ]
    emit(
        "api",
        title=f"API create throughput, {args.concurrency} concurrent clients for {args.seconds:.0f} s each",
        command=f"bench/api.py --seconds {args.seconds:.0f} --concurrency {args.concurrency}",
        table=markdown_table(["endpoint", "requests", "errors", "req/s", "p50 ms", "p99 ms"], ["l"] + ["r"] * 5, body),
        rows=rows,
        notes=(
            f"The api answers {api['rps'] / bare['rps'] * 100:.0f}% of the bare endpoint's rate: each create is "
            "authenticated, validated, written to Redis in one transaction with its timers, announced on the events "
            "stream (three events, each acknowledged by JetStream) and queued as a command."
        ),
    )


if __name__ == "__main__":
    main()
