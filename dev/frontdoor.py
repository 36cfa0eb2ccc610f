"""The development front door: one origin (http://localhost:3000) with the production paths, as the ALB does in
AWS — ``/api/events*`` and live log follows to the events
gateway, everything else to the api. Streams responses (SSE) unbuffered.

Environment: FRONT_PORT, API_URL, GATEWAY_URL (comma-separated replicas, taken in turn). Development tooling only.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import AsyncIterator

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


def _to_gateway(request: Request) -> bool:
    """``/api/events*``, and the live log follow (``/api/operations/{id}/logs`` asking for an event stream)."""
    path = request.url.path
    if path.startswith("/api/events"):
        return True
    return (
        path.startswith("/api/operations/")
        and path.endswith("/logs")
        and "text/event-stream" in request.headers.get("accept", "")
    )


def build_app(api_url: str, gateway_urls: list[str]) -> Starlette:
    client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None), follow_redirects=False)
    turn = itertools.count()

    def upstreams(request: Request) -> list[str]:
        """The api, or every gateway replica starting from the next in turn (round robin, then failover)."""
        if not _to_gateway(request):
            return [api_url]
        first = next(turn) % len(gateway_urls)
        return gateway_urls[first:] + gateway_urls[:first]

    async def proxy(request: Request) -> Response:
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        headers.append(("x-forwarded-for", request.client.host if request.client else ""))
        content = await request.body()
        # the path as the client sent it (still percent-encoded): a decoded one may hold characters a URL cannot
        raw_path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        failure: Exception | None = None
        reply: httpx.Response | None = None
        for upstream in upstreams(request):
            outgoing = client.build_request(
                request.method, upstream + raw_path, params=request.url.query, headers=headers, content=content
            )
            try:
                reply = await client.send(outgoing, stream=True)
                break
            except httpx.ConnectError as exc:  # that replica is down: the next one
                failure = exc
            except httpx.TransportError as exc:
                failure = exc
                break
        if reply is None:
            return JSONResponse({"error": "Service unavailable", "details": repr(failure)}, status_code=502)

        async def body() -> AsyncIterator[bytes]:
            async for chunk in reply.aiter_raw():
                yield chunk

        out_headers = {k: v for k, v in reply.headers.items() if k.lower() not in HOP_BY_HOP}
        return StreamingResponse(
            body(), status_code=reply.status_code, headers=out_headers, background=BackgroundTask(reply.aclose)
        )

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    return Starlette(routes=[Route("/{path:path}", proxy, methods=methods)], lifespan=lifespan)


def main() -> None:
    app = build_app(os.environ["API_URL"], os.environ["GATEWAY_URL"].split(","))
    # no access log: a query string may carry ?access_token=
    port = int(os.environ.get("FRONT_PORT", "3000"))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
