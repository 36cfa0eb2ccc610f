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
    #: a running operation with no live worker lease and no heartbeat for this long is hung
    hung_after_s: float = 300.0
    #: a retried destroy (overdue, orphan) waits this long after the previous attempt failed, doubling with each
    #: failed attempt up to ``destroy_retry_max_s`` (0: retry at every round)
    destroy_retry_s: float = 15.0
    destroy_retry_max_s: float = 600.0
    #: the provisioner's data folder (same machine): enables the orphan and drift sweeps over local states
    data_dir: Path | None = None
    #: ``s3://bucket/prefix`` when the states live in S3 (``PREQUEL_TF_STATE``, as the provisioner): the orphan and
    #: drift sweeps then read them there
    tf_state: str | None = None
    #: the state bucket's region (as the provisioner's); unset: boto3's own (``AWS_REGION``, set on ECS)
    tf_state_region: str | None = None
    s3_endpoint_url: str | None = None
