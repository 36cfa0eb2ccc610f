"""Who is asking: ``Authorization: Bearer``, or (for EventSource, which cannot set headers) an ``access_token``
query parameter or the ``prequel_token`` cookie."""

from __future__ import annotations

from prequel_common.auth import TokenTable, bearer_token
from starlette.requests import Request
from starlette.responses import JSONResponse

from prequel_gateway.metrics import SSE_STREAMS_REFUSED

COOKIE = "prequel_token"


def user_of(request: Request, tokens: TokenTable) -> str | None:
    token = (
        bearer_token(request.headers.get("authorization"))
        or request.query_params.get("access_token")
        or request.cookies.get(COOKIE)
    )
    return tokens.user_for(token)


def unauthorized() -> JSONResponse:
    return JSONResponse(
        {"error": "Authentication required: Authorization: Bearer <token>, ?access_token= or the prequel_token cookie"},
        status_code=401,
    )


def user_or_refusal(request: Request, tokens: TokenTable) -> str | JSONResponse:
    """The user asking for a stream, or the 401 answer (counted as a refused stream)."""
    user = user_of(request, tokens)
    if user is None:
        SSE_STREAMS_REFUSED.labels(reason="unauthorized").inc()
        return unauthorized()
    return user
