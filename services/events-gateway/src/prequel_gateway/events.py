"""``GET /api/events`` as a plain ASGI endpoint, dispatched before the FastAPI app (see :mod:`prequel_gateway.app`).

At 10,000 streams a process, what every stream holds while it lives is what the gateway's memory is, and what
runs for every client and event is its latency. So a stream here is its request's task (which runs
:func:`prequel_gateway.stream.run_stream`) and one task waiting for the client to go away, with no router,
dependency or exception middleware frames kept alive under it, and no task group, lock or cancel scope of its
own: about 14 KB a stream, where sse-starlette's ``EventSourceResponse`` under FastAPI held 50 KB (bench/sse.md).
The frames are sse-starlette's ``ServerSentEvent`` encoding; its shutdown signal (``AppStatus``) ends the streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from dataclasses import dataclass
from typing import Any

import anyio
import structlog
from prequel_common.auth import TokenTable
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from prequel_gateway.auth import user_or_refusal
from prequel_gateway.filters import EventFilter
from prequel_gateway.hub import Client
from prequel_gateway.limits import StreamSlots
from prequel_gateway.params import cursor_of, error
from prequel_gateway.stream import StreamDeps, run_stream

log = structlog.get_logger(__name__)

PATH = "/api/events"
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"connection", b"keep-alive"),
    (b"x-accel-buffering", b"no"),  # nginx: pass each event on at once
]
START = {"type": "http.response.start", "status": 200, "headers": HEADERS}
END = {"type": "http.response.body", "body": b"", "more_body": False}


@dataclass(frozen=True)
class Admission:
    user: str
    slot: str
    event_filter: EventFilter
    cursor: int | None


async def _watch_disconnect(receive: Receive, client: Client) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    client.gone = True
    client.wake()


class EventsEndpoint:
    """``GET /api/events``: auth, the per-user stream limit, filters and cursor, then the stream."""

    def __init__(self, tokens: TokenTable, state: Any) -> None:
        self._tokens = tokens
        #: the app's state, where the lifespan puts ``deps`` and ``slots``
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "HEAD":  # the headers a GET would get, no stream
            user = user_or_refusal(Request(scope), self._tokens)
            if isinstance(user, Response):
                await user(scope, receive, send)
            else:
                await send(START)
                await send(END)
            return
        if scope["method"] != "GET":
            await error(405, "Method not allowed: GET /api/events", Allow="GET")(scope, receive, send)
            return
        admitted = await self._admit(scope)
        if isinstance(admitted, Response):
            await admitted(scope, receive, send)
            return
        await self._stream(admitted, receive, send)

    async def _admit(self, scope: Scope) -> Admission | Response:
        request = Request(scope)
        user = user_or_refusal(request, self._tokens)
        if isinstance(user, Response):
            return user
        cursor = cursor_of(request, "lastEventId")
        if isinstance(cursor, Response):
            return cursor
        event_filter = EventFilter(
            interview_id=request.query_params.get("interviewId") or None,
            operation_id=request.query_params.get("operationId") or None,
        )
        slots: StreamSlots | None = getattr(self._state, "slots", None)
        if slots is None:
            return error(503, "The events gateway is starting", **{"Retry-After": "1"})
        slot = await slots.acquire_or_refusal(user)
        if isinstance(slot, Response):
            return slot
        return Admission(user, slot, event_filter, cursor)

    async def _stream(self, admitted: Admission, receive: Receive, send: Send) -> None:
        deps: StreamDeps = self._state.deps
        slots: StreamSlots = self._state.slots
        client = deps.hub.register(admitted.event_filter)
        client.task = asyncio.current_task()
        watcher = asyncio.create_task(_watch_disconnect(receive, client))
        narrowed = {
            "interview_id": admitted.event_filter.interview_id,
            "operation_id": admitted.event_filter.operation_id,
        }
        fields = {"user": admitted.user, **{k: v for k, v in narrowed.items() if v}}
        log.info("stream opened", path=PATH, **fields)
        try:
            await send(START)
            keepalive = functools.partial(slots.refresh, admitted.user, admitted.slot)
            await run_stream(deps, client, admitted.cursor, keepalive, send)
            if not client.gone:
                await send(END)
        except asyncio.CancelledError:
            if not client.aborted:
                raise
            # cancelled in a write to a client that does not read (too slow, or at shutdown): the connection is
            # dropped (the ASGI server closes a response the app leaves unfinished); the browser reconnects with
            # its last id
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
        finally:
            client.send = None
            deps.hub.unregister(client)
            watcher.cancel()
            log.info("stream closed", path=PATH, reason=_reason(client), **fields)
            # the release must not be cancelled with the stream
            with anyio.move_on_after(5, shield=True), contextlib.suppress(Exception):
                await slots.release(admitted.user, admitted.slot)


def _reason(client: Client) -> str:
    if client.overflowed:
        return "too slow"
    if client.gone:
        return "client left"
    if client.closing:
        return "shutting down"
    return "aborted" if client.aborted else "ended"
