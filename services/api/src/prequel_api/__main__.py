"""``python -m prequel_api``: serve the REST API."""

from __future__ import annotations

import uvicorn
from prequel_common.logging import configure_logging
from prequel_common.settings import load_settings

from prequel_api.app import create_app
from prequel_api.settings import ApiSettings


def main() -> None:
    settings = load_settings(ApiSettings)
    configure_logging("api", settings.log_level, settings.log_format)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
