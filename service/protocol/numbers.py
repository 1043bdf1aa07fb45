"""Integers read from request text (path segments, headers), with the text checked first.

``str.isdigit`` also takes ``²`` and other Unicode digits, which ``int`` then refuses
(a 500, or gRPC's INTERNAL); and ``int`` of a 5,000-digit string raises past CPython's
digit limit. Only ASCII digits of a bounded length are read here; the callers answer 400.
"""

from __future__ import annotations

#: A version is an integer of at most this many digits (far more than any repository has).
MAX_VERSION_DIGITS = 18


def ascii_int(text: str, *, max_digits: int) -> int | None:
    """``text`` (surrounding blanks ignored) as a non-negative integer, or None."""
    text = text.strip()
    if not text or not text.isascii() or not text.isdigit() or len(text) > max_digits:
        return None
    return int(text)


def positive_version(text: str) -> int | None:
    """A version segment as a positive integer, or None when it is not one."""
    value = ascii_int(text, max_digits=MAX_VERSION_DIGITS)
    return value if value is not None and value >= 1 else None


def byte_count(text: str, most: int) -> int | None:
    """A byte count in ``0..most``, or None."""
    value = ascii_int(text, max_digits=len(str(most)))
    return value if value is not None and value <= most else None
