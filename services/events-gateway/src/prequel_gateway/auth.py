"""Who is asking: ``Authorization: Bearer``, or (for EventSource, which cannot set headers) an ``access_token``
query parameter or the ``prequel_token`` cookie."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse
from prequel_common.auth import TokenTable, bearer_token

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
