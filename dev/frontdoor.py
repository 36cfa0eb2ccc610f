"""The development front door: one origin (http://localhost:3000) with the production paths, as the ALB does in
AWS — ``/api/events*`` and live log follows to the events
gateway, everything else to the api. Streams responses (SSE) unbuffered.

Environment: FRONT_PORT, API_URL, GATEWAY_URL. Development tooling only.
"""

from __future__ import annotations

import contextlib
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


def build_app(api_url: str, gateway_url: str) -> Starlette:
    client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None), follow_redirects=False)

    async def proxy(request: Request) -> Response:
        upstream = gateway_url if _to_gateway(request) else api_url
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        headers.append(("x-forwarded-for", request.client.host if request.client else ""))
        outgoing = client.build_request(
            request.method,
            upstream + request.url.path,
            params=request.url.query,
            headers=headers,
            content=await request.body(),
        )
        try:
            reply = await client.send(outgoing, stream=True)
        except httpx.TransportError as exc:
            return JSONResponse({"error": "Service unavailable", "details": repr(exc)}, status_code=502)

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
    app = build_app(os.environ["API_URL"], os.environ["GATEWAY_URL"])
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("FRONT_PORT", "3000")), log_level="warning")


if __name__ == "__main__":
    main()
