"""``GET /api/operations/{id}/logs`` with ``Accept: text/event-stream``: follow one operation's log live.

Lines after the cursor (Last-Event-ID, or ``?after=``: the id of the last line seen) come from the store, then live
lines from the events stream (deduplicated by line id), and a final ``log_end`` event once the operation finished.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

from prequel_common.status import OPERATION_ACTIVE
from prequel_common.store import Store
from sse_starlette import ServerSentEvent

from prequel_gateway.hub import Client, Hub
from prequel_gateway.notices import LogEndEvent, LogLineEvent
from prequel_gateway.stream import sse_of


def _line(operation_id: str, line_id: int, line: str) -> ServerSentEvent:
    return sse_of(LogLineEvent(operation_id=operation_id, id=line_id, line=line), id=str(line_id))


async def follow_log(
    store: Store,
    hub: Hub,
    client: Client,
    operation_id: str,
    after: int,
    heartbeat_s: float,
    keepalive: Callable[[], Awaitable[None]],
) -> AsyncIterator[ServerSentEvent]:
    last = after

    async def backlog() -> AsyncIterator[ServerSentEvent]:
        nonlocal last
        for line in await store.logs.read(operation_id, last):
            last += 1
            yield _line(operation_id, last, line)

    loop = asyncio.get_running_loop()
    try:
        async for event in backlog():
            yield event
        operation = await store.operations.get(operation_id)
        if operation is not None and operation.status not in OPERATION_ACTIVE:
            yield sse_of(LogEndEvent(operation_id=operation_id, status=operation.status))
            return
        hub.wake_at(client, loop.time() + heartbeat_s)
        while True:
            await client.wait()
            if client.overflowed or client.closing:
                return  # too slow, or the gateway is shutting down: the client resumes from its last line
            for item in client.drain():
                if item.type == "operation_log":
                    for entry in json.loads(item.data)["lines"]:
                        if entry["id"] > last:
                            last = entry["id"]
                            yield _line(operation_id, last, entry["line"])
                elif item.type == "operation_update" and item.status and item.status not in OPERATION_ACTIVE:
                    async for event in backlog():  # lines written just before the end
                        yield event
                    yield sse_of(LogEndEvent(operation_id=operation_id, status=item.status))
                    return
            if client.due:  # the slot is refreshed however busy the log is
                client.due = False
                hub.keep_alive(client, keepalive)
                hub.wake_at(client, loop.time() + heartbeat_s)
    finally:
        hub.unregister(client)
