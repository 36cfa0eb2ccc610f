"""Configuration of the scheduler (``PREQUEL_*`` environment variables)."""

from __future__ import annotations

from pathlib import Path

from prequel_common.settings import CommonSettings


class SchedulerSettings(CommonSettings):
    #: where /healthz, /readyz and /metrics are served
    host: str = "127.0.0.1"
    port: int = 8003
    #: how often due timers are looked for; a timer fires at most this late
    tick_s: float = 0.25
    sweep_interval_s: float = 30.0
    overdue_grace_s: float = 60.0
    hung_after_s: float = 300.0
    #: the provisioner's data folder (same machine): enables the orphan and drift sweeps over local states
    data_dir: Path | None = None
    #: set when the states live in S3 (``PREQUEL_TF_STATE``): the local-state sweeps are then off
    tf_state: str | None = None
