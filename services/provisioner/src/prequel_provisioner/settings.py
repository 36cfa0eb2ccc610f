"""Configuration of the provisioner (``PREQUEL_*`` environment variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from prequel_common.settings import CommonSettings
from pydantic import AliasChoices, Field

_REPO = Path(__file__).resolve().parents[4]


class ProvisionerSettings(CommonSettings):
    #: where /healthz, /readyz and /metrics are served
    host: str = "127.0.0.1"
    port: int = 8002
    #: per-interview Terraform working folders and local workspaces live here
    data_dir: Path
    terraform_bin: str = "terraform"
    tf_module: Path = _REPO / "terraform" / "modules" / "local-workspace"
    challenges_dir: Path = _REPO / "challenges"
    #: ``s3://bucket/prefix``: take the challenge files from S3 instead (as the api lists them)
    challenges: str | None = None
    ide: Literal["auto", "jupyterlab", "code-server"] = "auto"
    #: ``s3://bucket/prefix``: keep each interview's state at ``prefix/<interviewId>/terraform.tfstate`` in S3
    #: (locked with ``use_lockfile``); a local state file in the working folder by default
    tf_state: str | None = None
    tf_state_region: str = "us-east-1"
    #: an S3-compatible endpoint for the state and the challenges (tests, MinIO); AWS by default
    s3_endpoint_url: str | None = None
    #: how many commands one worker runs at once
    concurrency: int = Field(4, validation_alias=AliasChoices("PREQUEL_PROVISIONER_CONCURRENCY", "PREQUEL_CONCURRENCY"))
    ready_timeout_s: float = 300.0
    #: a create running longer than this is stopped and fails (its partial environment is destroyed)
    run_timeout_s: float = 900.0
    cancel_grace_s: float = 30.0
    ack_wait_s: float = 60.0
    max_deliver: int = 5
    #: how long a destroy waits for a running create of the same interview to stop
    destroy_wait_create_s: float = 120.0
