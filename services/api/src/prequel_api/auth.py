"""Bearer-token authentication of every ``/api/*`` route; the user name is bound to the request's logs."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prequel_common.auth import TokenTable, bearer_token

from prequel_api.errors import ApiError

#: declares the scheme in the OpenAPI document (``/docs`` gets its Authorize button); it never refuses a request
#: itself (``auto_error=False``): :func:`current_user` does, with the spec's error body
BEARER = HTTPBearer(
    description="An API token from PREQUEL_API_TOKENS: Authorization: Bearer <token>",
    auto_error=False,
)


async def current_user(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None
) -> str:
    tokens: TokenTable = request.app.state.tokens
    user = tokens.user_for(bearer_token(request.headers.get("authorization")))
    if user is None:
        raise ApiError(401, "Authentication required: send Authorization: Bearer <token>")
    structlog.contextvars.bind_contextvars(user=user)
    return user
