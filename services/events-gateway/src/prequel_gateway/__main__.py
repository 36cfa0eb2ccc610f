"""``python -m prequel_gateway``: serve the SSE stream.

uvloop and httptools are named rather than left to uvicorn's "auto" (which quietly falls back to asyncio and h11
when they are missing): the fan-out's cost per delivered frame depends on them. With ``PREQUEL_REUSE_PORT`` the
listening socket is bound with SO_REUSEPORT, so that several gateway processes on one host share the port and the
kernel spreads the connections between them.

The garbage collector is tuned (``PREQUEL_GC_THRESHOLDS``) for a process that holds thousands of streams, about
300 tracked objects each: 3 million at 10,000 streams, where a full collection takes about a second. With
CPython's defaults (700, 10, 10) the objects a broadcast leaves waiting until the next one (a future and a wake-up
per stream) are promoted from generation to generation, and that churn alone set off a full collection every few
seconds of broadcasting. A young generation of 50,000 lets them die young; full collections then come from real
growth (new streams, the garbage cycles of closed ones). What is loaded at start is frozen out of every collection.
"""

from __future__ import annotations

import gc
import logging
import socket

import uvicorn
from prequel_common.logging import configure_logging
from prequel_common.settings import load_settings

from prequel_gateway.app import create_app
from prequel_gateway.settings import GatewaySettings


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class _DroppedStreams(logging.Filter):
    """uvicorn reports a response left unfinished as an error; here that is a client dropped for being too slow
    (the gateway logs it as such, with the stream's fields), so the duplicate is left out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing response."


def main() -> None:
    settings = load_settings(GatewaySettings)
    configure_logging("events-gateway", settings.log_level, settings.log_format)
    logging.getLogger("uvicorn.error").addFilter(_DroppedStreams())
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        # a backstop: the streams end themselves within about a second of SIGTERM (see Hub.close_all)
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*settings.gc_thresholds)
    server.run(sockets=[_reuse_port_socket(settings.host, settings.port)] if settings.reuse_port else None)


if __name__ == "__main__":
    main()
