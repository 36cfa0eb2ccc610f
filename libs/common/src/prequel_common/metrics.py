"""Metrics every service may record (Prometheus, the process's default registry; served at ``/metrics``).

Service-specific metrics live in each service's own ``metrics`` module; these are the shared ones.
"""

from __future__ import annotations

from prometheus_client import Counter

OPERATIONS_FINISHED = Counter(
    "prequel_operations_finished",
    "Operations that reached a final status in this process, by type and outcome",
    ["type", "outcome"],
)
