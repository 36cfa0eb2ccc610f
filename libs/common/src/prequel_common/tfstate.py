"""Reading the per-interview Terraform states (local backend: ``<data_dir>/terraform/<interviewId>/``).

The provisioner writes them; the scheduler's sweeps read them to find orphans (infrastructure with no live
interview) and drift (an active interview whose state is empty).
"""

from __future__ import annotations

import json
from pathlib import Path


class LocalStates:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "terraform"

    def has_resources(self, interview_id: str) -> bool:
        state = self.root / interview_id / "terraform.tfstate"
        try:
            return bool(json.loads(state.read_text()).get("resources"))
        except (FileNotFoundError, ValueError):
            return False

    def with_resources(self) -> list[str]:
        """Ids of the interviews whose state holds resources."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.name.startswith("int-") and self.has_resources(p.name))
