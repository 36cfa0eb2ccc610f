"""What the gateway's endpoints read from a request besides the user, and their error answers (the spec's shape)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse


def error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def cursor_of(request: Request, query_name: str) -> int | JSONResponse | None:
    """The client's position: ``Last-Event-ID`` (as browsers send it on reconnect) or the ``query_name`` parameter;
    None when neither is given, a 400 answer when it is not a non-negative integer."""
    raw = request.headers.get("last-event-id") or request.query_params.get(query_name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        return error(400, f"Last-Event-ID / {query_name} must be an integer event id")
    return value if value >= 0 else error(400, f"Last-Event-ID / {query_name} must not be negative")
