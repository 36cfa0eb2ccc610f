"""The gateway's metrics (served at ``/metrics`` with the shared ones)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

SSE_CLIENTS = Gauge("prequel_sse_clients", "Event streams (and live log follows) open on this gateway process")
SSE_STREAMS_REFUSED = Counter("prequel_sse_streams_refused", "Streams refused, by reason", ["reason"])
