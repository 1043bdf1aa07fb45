"""Readiness and graceful shutdown.

The service is ready once the model versions found at start-up are loaded and warmed
(with ``strict_readiness``, the default, a model whose default version cannot serve keeps
it not ready until a reload loads it; ``DataPlane.readiness``).
On SIGTERM readiness turns false *first*, so a load balancer polling ``/v2/health/ready``
stops sending; uvicorn then stops accepting connections, lets in-flight requests finish
(up to ``graceful_timeout_s``) and runs the lifespan shutdown.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

logger = logging.getLogger(__name__)


@dataclass
class Lifecycle:
    started: bool = False
    draining: bool = False
    #: Called (from the signal handler) when SIGTERM arrives, e.g. to stop the gRPC server.
    on_drain: list[Callable[[], None]] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.started and not self.draining

    def drain_on_sigterm(self) -> None:
        """Wrap the server's SIGTERM handler (uvicorn installs it before the lifespan runs).

        Only the main thread can set signal handlers; a server run in a thread (tests) has
        none to wrap.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum: int, frame: FrameType | None) -> Any:
            self.draining = True
            logger.info("SIGTERM: not ready any more; finishing requests in flight")
            for callback in self.on_drain:
                callback()
            if callable(previous):
                return previous(signum, frame)
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, on_sigterm)
