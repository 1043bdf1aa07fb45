"""Small helpers that turn the API's JSON into numpy arrays without guessing."""

from __future__ import annotations

from typing import Any

import numpy as np


def floats(value: Any) -> np.ndarray:
    return np.asarray(value if value is not None else [], dtype=np.float32)


def maybe_floats(value: Any) -> np.ndarray | None:
    return None if value is None else floats(value)


def _is_numeric_list(value: Any) -> bool:
    """A non-empty list of numbers, or of such lists: the JSON form of an array."""
    if not isinstance(value, list) or not value:
        return False
    first = value[0]
    if isinstance(first, list):
        return all(_is_numeric_list(v) for v in value)
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)


def arrays_in(value: Any) -> Any:
    """Numeric lists become arrays (int64 when every number is an integer), recursively
    through dicts; anything else is kept as it is."""
    if isinstance(value, dict):
        return {k: arrays_in(v) for k, v in value.items()}
    if _is_numeric_list(value):
        array = np.asarray(value)
        if array.dtype == object:
            return value
        return array
    if isinstance(value, list):
        return [arrays_in(v) for v in value]
    return value
