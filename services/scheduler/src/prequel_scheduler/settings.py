"""Configuration of the scheduler (``PREQUEL_*`` environment variables)."""

from __future__ import annotations

from prequel_common.settings import CommonSettings


class SchedulerSettings(CommonSettings):
    #: how often due timers are looked for; a timer fires at most this late
    tick_s: float = 0.25
