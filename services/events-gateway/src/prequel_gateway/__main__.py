"""``python -m prequel_gateway``: serve the SSE stream."""

from __future__ import annotations

import uvicorn
from prequel_common.logging import configure_logging
from prequel_common.settings import load_settings

from prequel_gateway.app import create_app
from prequel_gateway.settings import GatewaySettings


def main() -> None:
    settings = load_settings(GatewaySettings)
    configure_logging("events-gateway", settings.log_level, settings.log_format)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
