"""The thread pool both load generators run on (``load.LoadRun`` over HTTP, ``sdk_load.SdkLoad``
through the SDK): ``threads`` workers each run the subclass's ``_loop`` until ``stop``, and
every outcome they record lands in ``outcomes`` under one lock."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar


@dataclass
class LoadThreads(ABC):
    _: KW_ONLY
    threads: int = 8
    outcomes: list[Any] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)

    #: The workers' thread names (``{NAME}-{n}``), and how long ``stop`` waits for each.
    NAME: ClassVar[str] = "load"
    JOIN_TIMEOUT_S: ClassVar[float] = 60.0

    def start(self) -> None:
        for n in range(self.threads):
            worker = threading.Thread(target=self._loop, name=f"{self.NAME}-{n}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=self.JOIN_TIMEOUT_S)

    @abstractmethod
    def _loop(self) -> None:
        raise NotImplementedError

    def _record(self, outcome: Any) -> None:
        with self._lock:
            self.outcomes.append(outcome)
