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

``LAYERLENS_WORKERS=auto`` is resolved here, once (core.resources), and the number
handed to the workers. With several workers the supervisor also makes the folder where
they share their Prometheus metrics (service.telemetry) before they start, tells
prometheus-client when a worker has gone, and removes the folder at exit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from socket import socket
from typing import Any

import uvicorn
from prometheus_client.multiprocess import mark_process_dead
from uvicorn.supervisors.multiprocess import Multiprocess

from core.resources import probe, worker_count
from core.settings import Settings
from service.logs import configure_logging

FACTORY = "service.app:create_app_from_env"
#: uvicorn's ``loop`` option per ``Settings.event_loop`` (service/eventloop.py says why).
EVENT_LOOPS = {"fair-accept": "service.eventloop:FairAcceptLoop", "uvloop": "uvloop"}
#: prometheus-client reads this variable when a worker imports it (its multiprocess mode).
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

logger = logging.getLogger("layerlens.supervisor")


class Supervisor(Multiprocess):
    """uvicorn's worker supervisor, closing its copy of the listening socket on SIGTERM/SIGINT
    and forgetting the live gauges of every worker that is gone (died, killed, replaced)."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket], *, metrics_dir: Path):
        super().__init__(config, sockets)
        self.metrics_dir = metrics_dir
        self._known: set[int] = set()

    def _stop_listening(self) -> None:
        for sock in self.sockets:
            sock.close()

    def handle_term(self) -> None:
        self._stop_listening()
        super().handle_term()

    def handle_int(self) -> None:
        self._stop_listening()
        super().handle_int()

    def _forget_gone_workers(self) -> None:
        current = {p.pid for p in self.processes if p.pid is not None}
        for pid in self._known - current:
            mark_process_dead(pid, str(self.metrics_dir))
        self._known = current

    def init_processes(self) -> None:
        super().init_processes()
        self._close_child_ends()

    def _close_child_ends(self) -> None:
        """Close this process's copy of each started worker's end of its health pipe.

        uvicorn keeps it open, so a ping to a worker that dies meanwhile (killed between
        the liveness check and the ping) waits the whole WORKER_HEALTHCHECK_S for a reply
        that cannot come, and the dead worker is neither replaced nor forgotten for 30 s.
        Closed here, its death is end-of-file on the pipe: the ping fails at once. The
        worker has its own copy from its start (spawn hands it over then)."""
        for process in self.processes:
            if process.pid is not None and not process.child_conn.closed:
                process.child_conn.close()

    def keep_subprocess_alive(self) -> None:
        self._close_child_ends()  # of workers started since the last round
        # uvicorn's loop pings the workers in turn, each for up to WORKER_HEALTHCHECK_S when
        # it is busy, and replaces a dead one when its turn comes. Dead workers go first, so
        # a killed worker is replaced (and leaves the scrape) at once, not after the pings
        # of busy live ones.
        self.processes.sort(key=lambda process: process.process.is_alive())
        for process in self.processes:
            if process.pid is not None and not process.process.is_alive():
                mark_process_dead(process.pid, str(self.metrics_dir))
        super().keep_subprocess_alive()
        self._forget_gone_workers()

    def handle_signals(self) -> None:
        super().handle_signals()
        self._forget_gone_workers()

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.processes = []
            self._forget_gone_workers()


@contextlib.contextmanager
def worker_environment(workers: int) -> Iterator[Path]:
    """A fresh folder for the workers' metrics, in the environment they inherit (with the
    resolved worker count), removed when the supervisor is done."""
    path = Path(tempfile.mkdtemp(prefix="layerlens-metrics-"))
    os.environ[METRICS_DIR_VARIABLE] = str(path)
    os.environ["LAYERLENS_WORKERS"] = str(workers)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


#: How long a worker may leave the supervisor's ping unanswered before it is killed and
#: replaced. uvicorn's 5 s killed healthy workers on a loaded machine (2 cores, load
#: average near 30): during start-up and during a large request, four deaths in two
#: minutes, each a restart that reloads every model and so loads the machine further.
#: A worker that is really stuck still goes, after this long.
WORKER_HEALTHCHECK_S = 30


def uvicorn_options(settings: Settings, *, workers: int) -> dict[str, Any]:
    return {
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "workers": workers,
        "log_level": settings.log_level,
        "log_config": None,  # keep the handlers configured in main() (text or JSON)
        "access_log": False,  # service.middleware writes one structured line per request
        "timeout_graceful_shutdown": int(settings.graceful_timeout_s),
        "timeout_worker_healthcheck": WORKER_HEALTHCHECK_S,
        "proxy_headers": True,
        "loop": EVENT_LOOPS[settings.event_loop],
    }


def main() -> None:
    settings = Settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    resources = probe()
    workers = worker_count(settings, resources)
    if settings.workers == "auto":
        logger.info("LAYERLENS_WORKERS=auto: %d worker(s); %s", workers, resources.describe())
    options = uvicorn_options(settings, workers=workers)
    if workers <= 1:
        uvicorn.run(FACTORY, **options)
        return
    with worker_environment(workers) as metrics_dir:
        config = uvicorn.Config(FACTORY, **options)
        Supervisor(config, sockets=[config.bind_socket()], metrics_dir=metrics_dir).run()


if __name__ == "__main__":
    main()
