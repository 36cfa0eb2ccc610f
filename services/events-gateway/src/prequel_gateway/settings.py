"""Configuration of the events gateway (``PREQUEL_*`` environment variables)."""

from __future__ import annotations

from prequel_common.settings import CommonSettings
from pydantic import model_validator


class GatewaySettings(CommonSettings):
    host: str = "127.0.0.1"
    port: int = 8001
    api_tokens: str | None = None
    heartbeat_s: float = 30.0
    status_interval_s: float = 5.0
    #: events buffered per client before a slow client is disconnected (it resumes by Last-Event-ID)
    client_queue: int = 1000
    sse_retry_ms: int = 5000
    #: a stream older than this is closed with a reconnect hint (spreads reconnects, rebalances replicas)
    max_stream_s: float = 3600.0
    rate_limit_sse_connections: int = 5
    #: bind with SO_REUSEPORT: several gateway processes on one host share the port (one per core)
    reuse_port: bool = False
    #: the garbage collector's thresholds (see __main__): net allocations before a young collection, young
    #: collections before a middle one, middle ones before a full one (CPython's defaults: 700, 10, 10)
    gc_thresholds: tuple[int, int, int] = (50_000, 2, 10)

    @model_validator(mode="after")
    def _check(self) -> GatewaySettings:
        if not self.api_tokens:
            raise ValueError("PREQUEL_API_TOKENS is required (comma-separated user:token)")
        return self
