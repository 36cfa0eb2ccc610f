"""Where a workspace's challenge files come from: the local folder (default), or S3 (``PREQUEL_CHALLENGES``),
downloaded into a private folder for the apply and removed afterwards (the module copies them into the workspace)."""

from __future__ import annotations

import shutil
from pathlib import Path

from prequel_common.challenges_s3 import S3Challenges


class ChallengeSource:
    def __init__(self, local_dir: Path, s3: S3Challenges | None, cache_dir: Path) -> None:
        self._local_dir = local_dir
        self._s3 = s3
        self._cache_dir = cache_dir

    async def exists(self, challenge: str) -> bool:
        if self._s3 is not None:
            return await self._s3.exists(challenge)
        return (self._local_dir / challenge).is_dir()

    async def materialize(self, interview_id: str, challenge: str) -> Path | None:
        """A local folder holding the challenge's files, or None when there is no such challenge."""
        if self._s3 is None:
            folder = self._local_dir / challenge
            return folder if folder.is_dir() else None
        if not await self._s3.exists(challenge):
            return None
        target = self._cache_dir / interview_id
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True, mode=0o700)
        await self._s3.download(challenge, target)
        return target

    def release(self, interview_id: str) -> None:
        if self._s3 is not None:
            shutil.rmtree(self._cache_dir / interview_id, ignore_errors=True)
