"""The scheduler's metrics (served at ``/metrics`` with the shared ones)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LATENESS = Histogram(
    "prequel_scheduler_lateness_seconds",
    "How late a timer fired, from its due time to its command being published, by timer kind",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
SWEEP_REPAIRS = Counter("prequel_sweep_repairs", "Repairs made by the sweeps, by kind", ["kind"])
