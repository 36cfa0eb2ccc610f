"""``python -m prequel_provisioner``: run a provisioner worker."""

from __future__ import annotations

import asyncio

from prequel_common.logging import configure_logging
from prequel_common.settings import load_settings

from prequel_provisioner.app import run
from prequel_provisioner.settings import ProvisionerSettings


def main() -> None:
    settings = load_settings(ProvisionerSettings)
    configure_logging("provisioner", settings.log_level, settings.log_format)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
