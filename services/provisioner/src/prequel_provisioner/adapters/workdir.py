"""One Terraform working folder per interview: a generated root module, its variables (0600) and its state.

User input goes only into ``terraform.tfvars.json`` as data; it is never part of Terraform source or a command line.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prequel_common.tfstate import LocalStates, S3States

_VARIABLES: dict[str, dict[str, Any]] = {
    "interview_id": {"type": "string"},
    "candidate_name": {"type": "string"},
    "challenge": {"type": "string"},
    "challenge_source": {"type": "string"},
    "password": {"type": "string", "sensitive": True},
    "auto_destroy_at": {"type": "string"},
    "port": {"type": "number"},
    "workspace_root": {"type": "string"},
    "ide": {"type": "string"},
}
VAR_FILE = "terraform.tfvars.json"


@dataclass(frozen=True)
class WorkspaceVars:
    interview_id: str
    candidate_name: str
    challenge: str
    challenge_source: str
    password: str
    auto_destroy_at: str
    port: int
    workspace_root: str
    ide: str


@dataclass(frozen=True)
class S3State:
    """Where the states live in S3: ``s3://bucket/prefix`` (+ region, + an endpoint for S3-compatible stores)."""

    uri: str
    region: str = "us-east-1"
    endpoint_url: str | None = None

    def __post_init__(self) -> None:
        S3States(self.uri)  # checks the URI

    def backend(self, interview_id: str) -> dict[str, Any]:
        layout = S3States(self.uri)  # the one key layout, shared with the scheduler's sweeps
        config: dict[str, Any] = {
            "bucket": layout.bucket,
            "key": layout.key(interview_id),
            "region": self.region,
            "use_lockfile": True,
            "encrypt": True,
        }
        if self.endpoint_url:
            config.update(
                endpoints={"s3": self.endpoint_url},
                use_path_style=True,
                skip_credentials_validation=True,
                skip_requesting_account_id=True,
                skip_metadata_api_check=True,
                skip_region_validation=True,
            )
        return {"s3": config}


class Workdirs:
    def __init__(self, data_dir: Path, module: Path, s3_state: S3State | None = None) -> None:
        self.root = data_dir / "terraform"
        self.module = module.resolve()
        self._s3_state = s3_state
        self._states: LocalStates | S3States = (
            LocalStates(data_dir)
            if s3_state is None
            else S3States(s3_state.uri, region=s3_state.region, endpoint_url=s3_state.endpoint_url)
        )

    def path(self, interview_id: str) -> Path:
        return self.root / interview_id

    def write(self, variables: WorkspaceVars) -> Path:
        workdir = self.path(variables.interview_id)
        workdir.mkdir(parents=True, exist_ok=True)
        workdir.chmod(0o700)
        root = {
            "terraform": {"backend": self._backend(variables.interview_id)},
            "variable": _VARIABLES,
            # a relative source: Terraform uses the module in place (an absolute path would be copied as a package,
            # which breaks modules that call modules beside them)
            "module": {"workspace": {"source": self._source(workdir), **{k: f"${{var.{k}}}" for k in _VARIABLES}}},
            "output": {"access_url": {"value": "${module.workspace.access_url}"}},
        }
        (workdir / "main.tf.json").write_text(json.dumps(root, indent=2))
        var_file = workdir / VAR_FILE
        fd = os.open(var_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(variables.__dict__, handle)
        return workdir

    def recorded_port(self, interview_id: str) -> int | None:
        """The IDE port of an earlier run of this interview (a resumed run keeps it: Terraform then converges on
        the environment already there instead of replacing it)."""
        try:
            return int(json.loads((self.path(interview_id) / VAR_FILE).read_text())["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _backend(self, interview_id: str) -> dict[str, Any]:
        if self._s3_state is not None:
            return self._s3_state.backend(interview_id)
        return {"local": {"path": "terraform.tfstate"}}

    def _source(self, workdir: Path) -> str:
        relative = os.path.relpath(self.module, workdir.resolve())
        return relative if relative.startswith("..") else f"./{relative}"

    def clear_stale_lock(self, interview_id: str, older_than_s: float) -> bool:
        """After a worker died: remove the state lock it may have left (S3 ``use_lockfile``; a local state's lock
        is released by the operating system when its process dies). True when a lock was removed."""
        if not isinstance(self._states, S3States):
            return False
        return self._states.clear_stale_lock(interview_id, older_than_s)

    def has_resources(self, interview_id: str) -> bool:
        """Whether the interview's state (local or in S3) holds resources. Blocking (S3): call from a thread."""
        return self._states.has_resources(interview_id)

    def exists(self, interview_id: str) -> bool:
        return (self.path(interview_id) / "main.tf.json").exists()

    def recreate_for_destroy(self, variables: WorkspaceVars) -> bool:
        """A state in S3 can be destroyed from any worker, also one that never saw this interview (in AWS each
        provisioner task has a disk of its own): write the working folder again when the remote state holds
        resources. ``variables`` only need to satisfy the module: a destroy works from the state. Blocking (S3)."""
        if self._s3_state is None or not self._states.has_resources(variables.interview_id):
            return False
        self.write(variables)
        return True

    def remove(self, interview_id: str) -> None:
        shutil.rmtree(self.path(interview_id), ignore_errors=True)
