"""Challenges from a local folder: one sub-folder per challenge, named by its id."""

from __future__ import annotations

import re
from pathlib import Path

from prequel_common.intake import CHALLENGE_ID_PATTERN

CHALLENGE_ID = re.compile(CHALLENGE_ID_PATTERN)


def display_name(challenge_id: str) -> str:
    """``data-science`` -> ``Data Science``."""
    return " ".join(word.capitalize() for word in challenge_id.split("-") if word)


class LocalChallenges:
    def __init__(self, root: Path) -> None:
        self._root = root

    async def list_ids(self) -> list[str]:
        if not self._root.is_dir():
            return []
        return sorted(p.name for p in self._root.iterdir() if p.is_dir() and CHALLENGE_ID.match(p.name))

    async def exists(self, challenge_id: str) -> bool:
        return bool(CHALLENGE_ID.match(challenge_id)) and (self._root / challenge_id).is_dir()
