"""``python -m service`` / ``layerlens-serve``: run the API under uvicorn.

uvicorn handles SIGTERM: the app first turns not-ready (service.lifecycle), uvicorn stops
accepting connections, in-flight requests get ``graceful_timeout_s`` to finish, then
the lifespan shutdown closes the models.

With several workers uvicorn's supervisor process also holds the listening socket; it
kept it open until every worker had drained, so connections arriving meanwhile waited in
the kernel's backlog and were reset unanswered when it finally closed. Here the
supervisor lets go of the socket as soon as the signal arrives: once the workers stop
listening too, new connections are refused at once, which clients and load balancers
retry elsewhere.
"""

from __future__ import annotations

from typing import Any

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

from core.settings import Settings
from service.logs import configure_logging

FACTORY = "service.app:create_app_from_env"


class Supervisor(Multiprocess):
    """uvicorn's worker supervisor, closing its copy of the listening socket on SIGTERM/SIGINT."""

    def _stop_listening(self) -> None:
        for sock in self.sockets:
            sock.close()

    def handle_term(self) -> None:
        self._stop_listening()
        super().handle_term()

    def handle_int(self) -> None:
        self._stop_listening()
        super().handle_int()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "log_level": settings.log_level,
        "log_config": None,  # keep the handlers configured in main() (text or JSON)
        "access_log": False,  # service.middleware writes one structured line per request
        "timeout_graceful_shutdown": int(settings.graceful_timeout_s),
        "proxy_headers": True,
    }


def main() -> None:
    settings = Settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    options = uvicorn_options(settings)
    if settings.workers <= 1:
        uvicorn.run(FACTORY, **options)
        return
    config = uvicorn.Config(FACTORY, **options)
    Supervisor(config, sockets=[config.bind_socket()]).run()


if __name__ == "__main__":
    main()
