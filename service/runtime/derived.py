"""Values a feature derives from a loaded version on first use and keeps while it is loaded.

A version's map is fitted from its index the first time someone asks for it; the next
feature's calibration or map will be the same kind of thing. Rather than one field per
feature on ``LoadedModel`` (which would make the runtime import every feature), each
feature keeps its value here under its own key, built once under a lock, dropped with the
version when a reload retires it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class DerivedValues:
    """Thread-safe ``key -> value`` built on first use (blocking: call it in the pool)."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: str, build: Callable[[], T]) -> T:
        """The value under ``key``, built by ``build()`` the first time; a build that raises
        stores nothing, so the next call tries again."""
        with self._lock:
            if key not in self._values:
                self._values[key] = build()
            return self._values[key]
