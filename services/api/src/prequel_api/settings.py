"""Configuration of the api service (``PREQUEL_*`` environment variables)."""

from __future__ import annotations

from pathlib import Path

from prequel_common.settings import CommonSettings
from pydantic import model_validator

_DEFAULT_CHALLENGES = Path(__file__).resolve().parents[4] / "challenges"


class ApiSettings(CommonSettings):
    host: str = "127.0.0.1"
    port: int = 8000
    #: comma-separated ``user:token``; required outside development (``make run`` generates one)
    api_tokens: str | None = None
    #: a local folder with one sub-folder per challenge (the default source)
    challenges_dir: Path = _DEFAULT_CHALLENGES
    #: ``s3://bucket/prefix``: list challenges from S3 instead (each top-level folder is a challenge)
    challenges: str | None = None
    #: an S3-compatible endpoint (tests, MinIO); AWS by default
    s3_endpoint_url: str | None = None
    rate_limit_creates_per_minute: int = 10
    rate_limit_queries_per_minute: int = 100
    max_body_bytes: int = 64 * 1024

    @model_validator(mode="after")
    def _check(self) -> ApiSettings:
        if not self.api_tokens:
            raise ValueError("PREQUEL_API_TOKENS is required (comma-separated user:token)")
        return self
