"""Operator endpoints every service answers: ``/healthz`` (alive), ``/readyz`` (NATS and Redis reachable) and
``/metrics`` (Prometheus text format, this process's default registry).

The api and the gateway add these routes to their own app (:func:`install_ops`); the provisioner and the scheduler,
which serve nothing else, run a small server of their own (:func:`serve_ops`) inside their event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True)
class Readiness:
    """What a service needs to do its job: a NATS connection and a Redis client."""

    nats: Any  # nats.aio.client.Client
    redis: Any  # redis.asyncio.Redis
    timeout_s: float = 1.0

    async def check(self) -> dict[str, str]:
        checks = {"nats": "ok" if self.nats.is_connected else "disconnected"}
        try:
            await asyncio.wait_for(self.redis.ping(), self.timeout_s)
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unreachable: {type(exc).__name__}"
        return checks


ReadinessSource = Callable[[], Readiness | None]


def ops_routes(readiness: ReadinessSource) -> list[Route]:
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        ready = readiness()
        if ready is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        checks = await ready.check()
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", **checks}, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


def install_ops(app: Starlette, readiness: ReadinessSource) -> None:
    """Add the three routes to an existing app (kept out of its OpenAPI schema)."""
    for route in ops_routes(readiness):
        app.router.routes.append(route)


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the service it runs in."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve_ops(host: str, port: int, readiness: ReadinessSource) -> AsyncIterator[uvicorn.Server]:
    """Serve the three routes on ``host:port`` while the block runs (the port is bound before the block starts)."""
    sock = socket.create_server((host, port), reuse_port=False)
    config = uvicorn.Config(Starlette(routes=ops_routes(readiness)), log_config=None, access_log=False)
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield server
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
        sock.close()


HTTP_REQUESTS = Histogram(
    "prequel_http_request_duration_seconds",
    "HTTP requests served, by method, route template and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class RequestMetrics:
    """ASGI middleware recording :data:`HTTP_REQUESTS` (route templates, not raw paths: ids stay out of labels)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            HTTP_REQUESTS.labels(scope["method"], template, str(status)).observe(time.perf_counter() - started)
