"""``python -m prequel_scheduler``: run the scheduler."""

from __future__ import annotations

import asyncio

from prequel_common.logging import configure_logging
from prequel_common.settings import load_settings

from prequel_scheduler.app import run
from prequel_scheduler.settings import SchedulerSettings


def main() -> None:
    settings = load_settings(SchedulerSettings)
    configure_logging("scheduler", settings.log_level, settings.log_format)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
