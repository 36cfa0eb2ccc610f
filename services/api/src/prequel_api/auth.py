"""Bearer-token authentication of every ``/api/*`` route; the user name is bound to the request's logs."""

from __future__ import annotations

import structlog
from fastapi import Request
from prequel_common.auth import TokenTable, bearer_token

from prequel_api.errors import ApiError


async def current_user(request: Request) -> str:
    tokens: TokenTable = request.app.state.tokens
    user = tokens.user_for(bearer_token(request.headers.get("authorization")))
    if user is None:
        raise ApiError(401, "Authentication required: send Authorization: Bearer <token>")
    structlog.contextvars.bind_contextvars(user=user)
    return user
