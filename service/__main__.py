"""``python -m service`` / ``layerlens-serve``: run the API under uvicorn.

uvicorn handles SIGTERM: the app first turns not-ready (service.lifecycle), uvicorn stops
accepting connections, in-flight requests get ``graceful_timeout_s`` to finish, then
the lifespan shutdown closes the models.
"""

from __future__ import annotations

import uvicorn

from core.settings import Settings
from service.logs import configure_logging

FACTORY = "service.app:create_app_from_env"


def main() -> None:
    settings = Settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    uvicorn.run(
        FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        log_config=None,  # keep the handlers configured above (text or JSON)
        access_log=False,  # service.middleware writes one structured line per request
        timeout_graceful_shutdown=int(settings.graceful_timeout_s),
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
