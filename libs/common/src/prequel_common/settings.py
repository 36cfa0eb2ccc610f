"""Settings base: every service reads ``PREQUEL_*`` environment variables and fails fast when one is missing."""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PREQUEL_", extra="ignore")

    nats_url: str
    redis_url: str
    env: Literal["development", "production"] = "production"
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    redis_prefix: str = "prequel"


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S]) -> S:
    """Build settings or exit with a message naming each missing or invalid variable."""
    try:
        return cls()
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        problems = [f"  {prefix}{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()]
        raise SystemExit("configuration error:\n" + "\n".join(problems)) from None
