"""Composition root of the api: build the clients in the lifespan, wire the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from prequel_common import bus
from prequel_common.auth import TokenTable
from prequel_common.challenges_s3 import S3Challenges
from prequel_common.ops import Readiness, RequestMetrics, install_ops
from prequel_common.recorder import Recorder
from prequel_common.store import Store

from prequel_api.adapters.challenges import LocalChallenges
from prequel_api.bodylimit import BodyLimitMiddleware
from prequel_api.deps import Services
from prequel_api.errors import install_error_handlers
from prequel_api.idempotency import IdempotencyStore
from prequel_api.ratelimit import RateLimiter
from prequel_api.routes import challenges, interviews, operations
from prequel_api.settings import ApiSettings

PORTAL = Path(__file__).parent / "portal"
#: the portal page loads only its own files (no inline script or style, nothing from elsewhere) and talks only to
#: its own origin; /docs (Swagger UI, which needs a CDN and inline script) does not get it
PORTAL_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PORTAL_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": PORTAL_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _challenges(settings: ApiSettings) -> LocalChallenges | S3Challenges:
    if settings.challenges:
        return S3Challenges(
            settings.challenges, endpoint_url=settings.s3_endpoint_url, development=settings.env == "development"
        )
    return LocalChallenges(settings.challenges_dir)


def create_app(settings: ApiSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store.from_url(settings.redis_url, settings.redis_prefix)
        nc = await bus.connect(settings.nats_url, "prequel-api")
        js = nc.jetstream()
        await bus.ensure_streams(js)
        app.state.readiness = Readiness(nc, store.redis)
        app.state.services = Services(
            settings=settings,
            # a request waits a little for NATS to come back, not a minute: the caller gets an error and may retry
            recorder=Recorder(store, bus.EventPublisher(js, retry_for_s=10)),
            commands=bus.CommandPublisher(js, retry_for_s=10),
            challenges=_challenges(settings),
            limiter=RateLimiter(store.redis, settings.redis_prefix),
            idempotency=IdempotencyStore(store.redis, settings.redis_prefix),
        )
        try:
            yield
        finally:
            await bus.close(nc)
            await store.redis.aclose()

    app = FastAPI(
        title="Prequel Portal API",
        version="0.1.0",
        description="Provision private browser IDEs for coding interviews. Every /api route needs a bearer token.",
        lifespan=lifespan,
    )
    app.state.development = settings.env == "development"
    app.state.tokens = TokenTable.parse(settings.api_tokens or "")
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMetrics)
    install_ops(app, lambda: getattr(app.state, "readiness", None))
    for module in (interviews, operations, challenges):
        app.include_router(module.router)

    def openapi() -> dict[str, Any]:
        """The generated schema, without FastAPI's 422: validation failures answer 400 with the error body."""
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            for unused in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/", include_in_schema=False)
    async def home() -> FileResponse:
        return FileResponse(PORTAL / "index.html", headers=PORTAL_HEADERS)

    app.mount("/portal", StaticFiles(directory=PORTAL), name="portal")

    return app
