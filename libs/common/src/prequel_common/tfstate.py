"""Reading the per-interview Terraform states, wherever the provisioner keeps them:

- :class:`LocalStates`: the local backend, ``<data_dir>/terraform/<interviewId>/terraform.tfstate``;
- :class:`S3States`: ``PREQUEL_TF_STATE=s3://bucket/prefix``, ``prefix/<interviewId>/terraform.tfstate``.

The provisioner writes them; the scheduler's sweeps read them to find orphans (infrastructure with no live
interview) and drift (an active interview whose state is empty).

**Why the state JSON and not ``terraform show -json``.** ``terraform show -json`` reads this very JSON (state
format version 4: ``resources[]``, each with a ``mode`` and its ``instances``) and prints it in another shape; to run
it, the scheduler would need the terraform binary, an initialized working folder per interview (the generated root
module, the module sources, provider plugins, backend credentials) and a terraform process per state per sweep
round, which is seconds of CPU for what is one read. The question asked is narrow, "does this state still hold any
managed resource instance", and the state file answers it directly, from any process that can read the files or
the bucket. The states are only read, never written; the one other write is the provisioner's removal of a lock a
dead worker left (:meth:`S3States.clear_stale_lock`).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

STATE_FILE = "terraform.tfstate"


class StatesUnavailable(Exception):
    """The states cannot be listed right now (no local folder yet, S3 unreachable or refused): the sweeps must not
    guess drift or orphans from an empty listing."""


class States(Protocol):
    def has_resources(self, interview_id: str) -> bool: ...

    def with_resources(self) -> list[str]:
        """Ids of the interviews whose state holds resources; raises :class:`StatesUnavailable`."""
        ...


def holds_resources(state: Any) -> bool:
    """True when a state (its parsed JSON) still holds a managed resource with at least one instance: something
    Terraform created and has not destroyed. Data sources are only reads, not infrastructure."""
    if not isinstance(state, dict):
        return False
    resources = state.get("resources") or []
    return any(
        isinstance(r, dict) and r.get("mode", "managed") == "managed" and r.get("instances", [{}]) for r in resources
    )


def _is_interview_id(name: str) -> bool:
    return name.startswith("int-") and "/" not in name


class LocalStates:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "terraform"

    def has_resources(self, interview_id: str) -> bool:
        state = self.root / interview_id / STATE_FILE
        try:
            return holds_resources(json.loads(state.read_text()))
        except (FileNotFoundError, ValueError):
            return False

    def with_resources(self) -> list[str]:
        """Ids of the interviews whose state holds resources."""
        if not self.root.is_dir():
            raise StatesUnavailable(f"no Terraform folder at {self.root} (yet)")
        return sorted(p.name for p in self.root.iterdir() if _is_interview_id(p.name) and self.has_resources(p.name))


class S3States:
    """The states in S3, read with boto3 (blocking: call from a worker thread). A listing gives each state's ETag, so
    a state is downloaded again only when it changed since the last round."""

    def __init__(
        self, uri: str, *, region: str | None = None, endpoint_url: str | None = None, client: Any = None
    ) -> None:
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc or parsed.query or parsed.fragment:
            raise ValueError(f"PREQUEL_TF_STATE must look like s3://bucket/prefix, not {uri!r}")
        self.bucket = parsed.netloc
        prefix = parsed.path.strip("/")
        #: the same layout as the provisioner's backend config: ``prefix/<interviewId>/terraform.tfstate``
        self.prefix = f"{prefix}/" if prefix else ""
        self._region = region
        self._endpoint_url = endpoint_url
        self._client = client
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[str, bool]] = {}  # key -> (ETag, holds resources)

    def key(self, interview_id: str) -> str:
        return f"{self.prefix}{interview_id}/{STATE_FILE}"

    def clear_stale_lock(self, interview_id: str, older_than_s: float) -> bool:
        """Delete the ``use_lockfile`` lock object of a state when it is older than ``older_than_s`` (its holder
        is gone: only a worker that took over an expired lease calls this). True when one was deleted."""
        lock = self.key(interview_id) + ".tflock"
        try:
            head = self._s3().head_object(Bucket=self.bucket, Key=lock)
        except ClientError:
            return False
        if (datetime.now(UTC) - head["LastModified"]).total_seconds() < older_than_s:
            return False
        self._s3().delete_object(Bucket=self.bucket, Key=lock)
        return True

    def _s3(self) -> Any:
        with self._lock:
            if self._client is None:
                config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})
                self._client = boto3.client(
                    "s3", region_name=self._region, endpoint_url=self._endpoint_url, config=config
                )
            return self._client

    def _read(self, key: str) -> bool:
        body = self._s3().get_object(Bucket=self.bucket, Key=key)["Body"].read()
        try:
            return holds_resources(json.loads(body))
        except ValueError:
            return False

    def has_resources(self, interview_id: str) -> bool:
        try:
            return self._read(self.key(interview_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return False
            raise StatesUnavailable(f"cannot read s3://{self.bucket}/{self.key(interview_id)}: {exc}") from exc
        except BotoCoreError as exc:
            raise StatesUnavailable(f"cannot read s3://{self.bucket}/{self.key(interview_id)}: {exc}") from exc

    def with_resources(self) -> list[str]:
        found, seen = [], {}
        try:
            pages = self._s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for obj in page.get("Contents", []):
                    key = str(obj["Key"])
                    interview_id, _, name = key[len(self.prefix) :].partition("/")
                    if name != STATE_FILE or not _is_interview_id(interview_id):
                        continue  # lock files (.tflock), other objects
                    etag = str(obj.get("ETag", ""))
                    cached = self._seen.get(key)
                    try:
                        holds = cached[1] if cached and cached[0] == etag and etag else self._read(key)
                    except ClientError as exc:
                        if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                            raise
                        continue  # deleted since the listing
                    seen[key] = (etag, holds)
                    if holds:
                        found.append(interview_id)
        except (ClientError, BotoCoreError) as exc:
            raise StatesUnavailable(f"cannot list s3://{self.bucket}/{self.prefix}: {exc}") from exc
        self._seen = seen
        return sorted(found)
