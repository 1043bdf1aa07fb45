"""Parsed JSON (nested lists) -> numpy, fast when the input is good, precise when not.

The fast path is one conversion of the whole batch to an object array plus one pass over
the element types at C speed: ``np.asarray(..., dtype=float)`` alone would silently turn
``true`` into 1.0 and ``"3"`` into 3.0. Only when that fails do the slow helpers below walk
the lists in Python to say exactly what is wrong and where.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

NUMBER_TYPES = (int, float)  # exact types: bool is an int subclass and must not pass


def numbers_array(values: object) -> np.ndarray | None:
    """A regular float64 array of ``values``, or None if ragged or holding non-numbers."""
    try:
        objects = np.asarray(values, dtype=object)
        types = set(map(type, objects.ravel().tolist()))
        if not types <= set(NUMBER_TYPES):
            return None
        return objects.astype(np.float64)
    except (ValueError, TypeError, OverflowError):
        return None


def nested_shape(value: object) -> tuple[int, ...] | None:
    """Shape of a nested list (non-lists are scalars), or None when it is ragged."""
    if not isinstance(value, list):
        return ()
    if not value:
        return (0,)
    inner = {nested_shape(child) for child in value}
    if len(inner) != 1 or None in inner:
        return None
    return (len(value), *inner.pop())


def leaves(value: object, path: str = "") -> Iterator[tuple[str, object]]:
    """Every non-list element with its index path, e.g. ``("[3][5]", 0.5)``."""
    if isinstance(value, list):
        for i, child in enumerate(value):
            yield from leaves(child, f"{path}[{i}]")
    else:
        yield path, value


_JSON_NAMES: dict[type, str] = {
    dict: "an object",
    list: "a list",
    int: "a number",
    float: "a number",
}


def describe_json(value: object) -> str:
    """How a JSON value looks to the caller who sent it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        text = value if len(value) <= 20 else value[:20] + "..."
        return f"a string ({text!r})"
    return _JSON_NAMES.get(type(value), type(value).__name__)


def first_non_number(value: object) -> tuple[str, object] | None:
    for path, leaf in leaves(value):
        if type(leaf) not in NUMBER_TYPES:
            return path, leaf
    return None


def describe_shape(value: object) -> str:
    """``"27x28"``, ``"783 values"``, ``"a single number"``, ``"a ragged nested list"``."""
    if not isinstance(value, list):
        return describe_json(value) if not isinstance(value, NUMBER_TYPES) else "a single number"
    shape = nested_shape(value)
    if shape is None:
        return "a ragged nested list"
    if len(shape) == 1:
        return f"{shape[0]} values"
    return "x".join(str(d) for d in shape)
