"""One client's SSE stream: ``connection`` first, then stream events as they come (with ``id:``), a
``heartbeat`` every 30 s and an ``operation_status`` snapshot every 5 s while operations are active."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from prequel_common.events import ConnectionEvent, HeartbeatEvent, OperationStatusEvent
from prequel_common.models import CamelModel, Operation
from prequel_common.views import OperationSummary
from sse_starlette import ServerSentEvent

from prequel_gateway.hub import Client, Hub
from prequel_gateway.settings import GatewaySettings

ActiveOperations = Callable[[], Awaitable[list[Operation]]]


def _sse(event: CamelModel, **kwargs: object) -> ServerSentEvent:
    return ServerSentEvent(data=event.model_dump_json(by_alias=True), **kwargs)  # type: ignore[arg-type]


async def client_stream(
    hub: Hub, client: Client, settings: GatewaySettings, active_operations: ActiveOperations
) -> AsyncIterator[ServerSentEvent]:
    loop = asyncio.get_running_loop()
    try:
        yield _sse(ConnectionEvent(), retry=settings.sse_retry_ms)
        next_heartbeat = loop.time() + settings.heartbeat_s
        next_status = loop.time() + settings.status_interval_s
        overflow = asyncio.ensure_future(client.overflowed.wait())
        try:
            while True:
                timeout = max(0.0, min(next_heartbeat, next_status) - loop.time())
                getter = asyncio.ensure_future(client.queue.get())
                done, _ = await asyncio.wait({getter, overflow}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    item = getter.result()
                    yield ServerSentEvent(data=item.data, id=str(item.seq))
                else:
                    getter.cancel()
                if overflow in done:
                    return  # too slow: the browser reconnects and resumes from its last id
                now = loop.time()
                if now >= next_heartbeat:
                    next_heartbeat = now + settings.heartbeat_s
                    yield _sse(HeartbeatEvent())
                if now >= next_status:
                    next_status = now + settings.status_interval_s
                    operations = await active_operations()
                    if operations:
                        yield _sse(OperationStatusEvent(operations=[OperationSummary.of(o) for o in operations]))
        finally:
            overflow.cancel()
    finally:
        hub.unregister(client)
