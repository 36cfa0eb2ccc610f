"""Composition root of the events gateway: ``GET /api/events`` and the live log follow."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prequel_common import bus
from prequel_common.auth import TokenTable
from prequel_common.ops import Readiness, install_ops
from prequel_common.store import Store
from sse_starlette import EventSourceResponse, ServerSentEvent

from prequel_gateway.auth import unauthorized, user_of
from prequel_gateway.filters import EventFilter
from prequel_gateway.hub import Hub
from prequel_gateway.limits import StreamSlots
from prequel_gateway.logs import follow_log
from prequel_gateway.metrics import SSE_CLIENTS, SSE_STREAMS_REFUSED
from prequel_gateway.settings import GatewaySettings
from prequel_gateway.snapshot import SharedSnapshot
from prequel_gateway.stream import StreamDeps, client_stream, heartbeat

log = structlog.get_logger(__name__)

SSE_HEADERS = {"Cache-Control": "no-cache", "Connection": "keep-alive"}


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def _cursor(request: Request, query_name: str) -> int | JSONResponse | None:
    raw = request.headers.get("last-event-id") or request.query_params.get(query_name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        return _error(400, f"Last-Event-ID / {query_name} must be an integer event id")
    return value if value >= 0 else _error(400, f"Last-Event-ID / {query_name} must not be negative")


def create_app(settings: GatewaySettings) -> FastAPI:
    tokens = TokenTable.parse(settings.api_tokens or "")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the store is read for the operation_status snapshot, the log backlog and the per-user stream slots
        store = Store.from_url(settings.redis_url, settings.redis_prefix)
        nc = await bus.connect(settings.nats_url, "prequel-events-gateway")
        js = nc.jetstream()
        await bus.ensure_streams(js)
        hub = Hub(nc, js, settings.client_queue)
        await hub.start()
        app.state.store = store
        app.state.readiness = Readiness(nc, store.redis)
        SSE_CLIENTS.set_function(lambda: hub.client_count)
        snapshot = SharedSnapshot(store.operations.list_active, max_age_s=min(1.0, settings.status_interval_s))
        app.state.deps = StreamDeps(js, hub, settings, snapshot.get)
        app.state.slots = StreamSlots(store.redis, settings.redis_prefix, settings.rate_limit_sse_connections)
        try:
            yield
        finally:
            await hub.stop()
            await bus.close(nc)
            await store.redis.aclose()

    app = FastAPI(title="Prequel Portal events", version="0.1.0", lifespan=lifespan)
    install_ops(app, lambda: getattr(app.state, "readiness", None))

    async def open_stream(
        request: Request,
        make: Callable[[Callable[[], Awaitable[None]]], AsyncIterator[ServerSentEvent | bytes]],
        heartbeats: bool = False,
        **about: str | None,
    ) -> Response:
        user = user_of(request, tokens)
        if user is None:
            SSE_STREAMS_REFUSED.labels(reason="unauthorized").inc()
            return unauthorized()
        slots: StreamSlots = request.app.state.slots
        slot = await slots.acquire(user)
        if slot is None:
            SSE_STREAMS_REFUSED.labels(reason="too_many_streams").inc()
            limit = settings.rate_limit_sse_connections
            return _error(429, f"Too many open event streams: at most {limit} per user", **{"Retry-After": "5"})

        async def keepalive() -> None:
            await slots.refresh(user, slot)

        fields = {"user": user, "path": request.url.path, **{k: v for k, v in about.items() if v}}

        async def guarded() -> AsyncIterator[ServerSentEvent | bytes]:
            log.info("stream opened", **fields)
            try:
                async for event in make(keepalive):
                    yield event
            finally:
                log.info("stream closed", **fields)
                # a client that goes away cancels this generator: the release must not be cancelled with it
                with anyio.move_on_after(5, shield=True), contextlib.suppress(Exception):
                    await slots.release(user, slot)

        if heartbeats:  # the spec's heartbeat is sse-starlette's ping (rather than a comment ping beside it)
            return EventSourceResponse(
                guarded(), headers=SSE_HEADERS, ping=settings.heartbeat_s, ping_message_factory=heartbeat
            )
        return EventSourceResponse(guarded(), headers=SSE_HEADERS)

    @app.get("/api/events", response_model=None)
    async def events(request: Request) -> Response:
        cursor = _cursor(request, "lastEventId")
        if isinstance(cursor, JSONResponse):
            return cursor
        deps: StreamDeps = request.app.state.deps
        event_filter = EventFilter(
            interview_id=request.query_params.get("interviewId") or None,
            operation_id=request.query_params.get("operationId") or None,
        )

        def make(keepalive: Callable[[], Awaitable[None]]) -> AsyncIterator[ServerSentEvent | bytes]:
            return client_stream(deps, deps.hub.register(event_filter), cursor, keepalive)

        return await open_stream(
            request,
            make,
            heartbeats=True,
            interview_id=event_filter.interview_id,
            operation_id=event_filter.operation_id,
        )

    @app.get("/api/operations/{operation_id}/logs", response_model=None)
    async def follow(operation_id: str, request: Request) -> Response:
        if "text/event-stream" not in request.headers.get("accept", ""):
            return _error(406, "This endpoint streams: send Accept: text/event-stream (the JSON form is the api's)")
        if user_of(request, tokens) is None:
            return unauthorized()
        cursor = _cursor(request, "after")
        if isinstance(cursor, JSONResponse):
            return cursor
        store: Store = request.app.state.store
        operation = await store.operations.get(operation_id)
        if operation is None:
            return _error(404, f"Operation {operation_id} not found")
        deps: StreamDeps = request.app.state.deps
        start = -1 if cursor is None else cursor

        def make(keepalive: Callable[[], Awaitable[None]]) -> AsyncIterator[ServerSentEvent | bytes]:
            client = deps.hub.register(EventFilter(operation_id=operation_id))
            return follow_log(store, deps.hub, client, operation_id, start, settings.heartbeat_s, keepalive)

        return await open_stream(request, make, interview_id=operation.interview_id, operation_id=operation_id)

    return app
