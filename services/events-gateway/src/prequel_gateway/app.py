"""Composition root of the events gateway: ``GET /api/events``, the live log follow, and the ops routes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prequel_common import bus
from prequel_common.auth import TokenTable
from prequel_common.ops import Readiness, install_ops
from prequel_common.store import Store
from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import AppStatus
from starlette.types import ASGIApp, Receive, Scope, Send

from prequel_gateway import events
from prequel_gateway.auth import user_or_refusal
from prequel_gateway.events import EventsEndpoint
from prequel_gateway.filters import EventFilter
from prequel_gateway.hub import Hub
from prequel_gateway.limits import StreamSlots
from prequel_gateway.logs import follow_log
from prequel_gateway.metrics import SSE_CLIENTS
from prequel_gateway.params import cursor_of, error
from prequel_gateway.settings import GatewaySettings
from prequel_gateway.snapshot import SharedSnapshot
from prequel_gateway.stream import StreamDeps

log = structlog.get_logger(__name__)

SSE_HEADERS = {"Cache-Control": "no-cache", "Connection": "keep-alive"}


class Gateway:
    """``/api/events`` goes straight to its endpoint; everything else (lifespan included) to the FastAPI app."""

    def __init__(self, api: FastAPI, events_endpoint: ASGIApp) -> None:
        self.api = api
        self._events = events_endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == events.PATH:
            await self._events(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def create_app(settings: GatewaySettings) -> Gateway:
    tokens = TokenTable.parse(settings.api_tokens or "")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the store is read for the operation_status snapshot, the log backlog and the per-user stream slots
        store = Store.from_url(settings.redis_url, settings.redis_prefix)
        nc = await bus.connect(settings.nats_url, "prequel-events-gateway")
        js = nc.jetstream()
        await bus.ensure_streams(js)
        # sse-starlette's shutdown signal (set on SIGTERM / SIGINT) ends every stream with a reconnect hint
        hub = Hub(nc, js, settings.client_queue, stopping=lambda: AppStatus.should_exit)
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

    @app.get("/api/operations/{operation_id}/logs", response_model=None)
    async def follow(operation_id: str, request: Request) -> Response:
        """A handful of clients per operation: sse-starlette's response as it is (pings, disconnects, shutdown)."""
        if "text/event-stream" not in request.headers.get("accept", ""):
            return error(406, "This endpoint streams: send Accept: text/event-stream (the JSON form is the api's)")
        user = user_or_refusal(request, tokens)
        if isinstance(user, Response):
            return user
        cursor = cursor_of(request, "after")
        if isinstance(cursor, Response):
            return cursor
        store: Store = request.app.state.store
        operation = await store.operations.get(operation_id)
        if operation is None:
            return error(404, f"Operation {operation_id} not found")
        slots: StreamSlots = request.app.state.slots
        slot = await slots.acquire_or_refusal(user)
        if isinstance(slot, Response):
            return slot
        deps: StreamDeps = request.app.state.deps
        start = -1 if cursor is None else cursor
        fields = {"user": user, "path": request.url.path, "interview_id": operation.interview_id}

        async def keepalive() -> None:
            await slots.refresh(user, slot)

        async def lines() -> AsyncIterator[ServerSentEvent]:
            log.info("stream opened", operation_id=operation_id, **fields)
            client = deps.hub.register(EventFilter(operation_id=operation_id))
            try:
                async for event in follow_log(
                    store, deps.hub, client, operation_id, start, settings.heartbeat_s, keepalive
                ):
                    yield event
            finally:
                log.info("stream closed", operation_id=operation_id, **fields)
                # a client that goes away cancels this generator: the release must not be cancelled with it
                with anyio.move_on_after(5, shield=True), contextlib.suppress(Exception):
                    await slots.release(user, slot)

        return EventSourceResponse(lines(), headers=SSE_HEADERS)

    return Gateway(app, EventsEndpoint(tokens, app.state))
