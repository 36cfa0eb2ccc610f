"""Settings base: every service reads ``PREQUEL_*`` environment variables and fails fast when one is missing."""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from prequel_common.intake import Limits


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PREQUEL_", extra="ignore")

    nats_url: str
    redis_url: str
    env: Literal["development", "production"] = "production"
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    redis_prefix: str = "prequel"
    #: the rules of a new interview, shared by the api and the provisioner (commands published on NATS)
    auto_destroy_min_minutes: int = 30
    auto_destroy_max_minutes: int = 240
    schedule_max_days: int = 90
    clock_skew_s: int = 60

    @property
    def limits(self) -> Limits:
        return Limits(
            self.auto_destroy_min_minutes, self.auto_destroy_max_minutes, self.schedule_max_days, self.clock_skew_s
        )

    @model_validator(mode="after")
    def _check_limits(self) -> CommonSettings:
        if not 1 <= self.auto_destroy_min_minutes <= self.auto_destroy_max_minutes:
            raise ValueError("need 1 <= PREQUEL_AUTO_DESTROY_MIN_MINUTES <= PREQUEL_AUTO_DESTROY_MAX_MINUTES")
        return self


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S]) -> S:
    """Build settings or exit with a message naming each missing or invalid variable."""
    try:
        return cls()
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        problems = [f"  {prefix}{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()]
        raise SystemExit("configuration error:\n" + "\n".join(problems)) from None
