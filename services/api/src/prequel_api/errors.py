"""Every error leaves as the spec's body ``{"error": ..., "details": ...}``; details only in development."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prequel_common.challenges_s3 import ChallengeSourceUnavailable
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        error: str,
        details: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.details = details
        self.headers = headers
        self.extra = extra or {}


def _body(request: Request, error: str, details: str | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"error": error, **extra}
    if details and request.app.state.development:
        body["details"] = details
    return body


def describe_validation(exc: RequestValidationError) -> tuple[str, str]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",)) or "body"
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"{loc}: {msg}")
    return "Invalid request: " + "; ".join(problems), repr(exc.errors())


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        body = _body(request, exc.error, exc.details, **exc.extra)
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        error, details = describe_validation(exc)
        return JSONResponse(_body(request, error, details), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(_body(request, str(exc.detail), None), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(ChallengeSourceUnavailable)
    async def _source(request: Request, exc: ChallengeSourceUnavailable) -> JSONResponse:
        log.warning("challenge source unavailable", error=str(exc))
        body = _body(request, f"Challenges are unavailable: {exc}. {exc.hint}", repr(exc.__cause__))
        return JSONResponse(body, status_code=503)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return JSONResponse(_body(request, "Internal server error", repr(exc)), status_code=500)
