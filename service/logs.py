"""Logging set-up: plain text or one JSON object a line (settings.log_format).

Request data reaches log lines (a path in a 503 warning, a file name), so neither format
lets it forge a line: JSON escapes by itself, and the text format writes control characters
of the message escaped (a ``%0a`` in a path is ``\\n``, not a new line; tracebacks keep
theirs). And what repeats is said once with a count: the same warning or error (the same
logger, template and arguments, or the same ``repeat_key``, e.g. every shed request's 503)
is written at most once per ``REPEAT_WINDOW_S``; the next one that is written says how many
were left out. A flood of shed requests or a broken model file polled every few seconds
cannot drown the log.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import orjson

ACCESS_LOGGER = "layerlens.access"
#: The same warning or error is written at most once per this many seconds.
REPEAT_WINDOW_S = 60.0
#: Control characters (C0, DEL, NEL and the Unicode line breaks) as Python escapes them.
_ESCAPES = {c: repr(chr(c))[1:-1] for c in (*range(32), 127, 0x85, 0x2028, 0x2029)}

#: Attributes every LogRecord has; anything else was passed with ``extra=`` and is logged.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which worker, when there are several
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def escape_controls(text: str) -> str:
    """``"a\\nb"`` -> ``"a\\\\nb"``: no control character of ``text`` reaches the log raw."""
    return text if text.isprintable() else text.translate(_ESCAPES)


class TextFormatter(logging.Formatter):
    """The text format, with the message's control characters escaped."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


class RepeatLimit(logging.Filter):
    """Lets the same warning or error through once per ``window_s``, then with a count."""

    def __init__(self, window_s: float = REPEAT_WINDOW_S) -> None:
        super().__init__()
        self.window_s = window_s
        self._last: dict[object, float] = {}
        self._left_out: dict[object, int] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = getattr(record, "repeat_key", None) or (record.name, record.msg, str(record.args))
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -self.window_s) < self.window_s:
                self._left_out[key] = self._left_out.get(key, 0) + 1
                return False
            self._last[key] = now
            left_out = self._left_out.pop(key, 0)
        if left_out:
            record.msg = (
                f"{record.msg} [and {left_out} more like it in the last {self.window_s:g} s]"
            )
        return True


def configure_logging(*, level: str, fmt: str) -> None:
    """Idempotent: replaces the root handler, so repeated app creation logs once."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RepeatLimit())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
