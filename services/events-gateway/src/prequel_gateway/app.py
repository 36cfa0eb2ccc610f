"""Composition root of the events gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prequel_common import bus
from prequel_common.auth import TokenTable
from prequel_common.store import Store
from sse_starlette import EventSourceResponse

from prequel_gateway.auth import unauthorized, user_of
from prequel_gateway.hub import Hub
from prequel_gateway.settings import GatewaySettings
from prequel_gateway.stream import client_stream


def create_app(settings: GatewaySettings) -> FastAPI:
    tokens = TokenTable.parse(settings.api_tokens or "")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the store is read only for the operation_status snapshot (active operations)
        store = Store.from_url(settings.redis_url, settings.redis_prefix)
        nc = await bus.connect(settings.nats_url, "prequel-events-gateway")
        js = nc.jetstream()
        await bus.ensure_streams(js)
        hub = Hub(js, settings.client_queue)
        await hub.start()
        app.state.hub = hub
        app.state.store = store
        try:
            yield
        finally:
            await hub.stop()
            await bus.close(nc)
            await store.redis.aclose()

    app = FastAPI(title="Prequel Portal events", version="0.1.0", lifespan=lifespan)

    @app.get("/api/events", response_model=None)
    async def events(request: Request) -> Response:
        if user_of(request, tokens) is None:
            return unauthorized()
        hub: Hub = request.app.state.hub
        store: Store = request.app.state.store
        client = hub.register()
        stream = client_stream(hub, client, settings, store.operations.list_active)
        return EventSourceResponse(stream, headers={"Cache-Control": "no-cache", "Connection": "keep-alive"})

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "clients": request_count(app)})

    return app


def request_count(app: FastAPI) -> int:
    hub: Hub | None = getattr(app.state, "hub", None)
    return hub.client_count if hub else 0
