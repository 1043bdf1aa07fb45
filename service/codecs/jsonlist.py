"""Parsed JSON (nested lists) -> numpy, fast when the input is good, precise when not.

The fast path is one pass over the element types at C speed (``itertools.chain`` down
the nesting levels, ``map(type, ...)``) and one ``np.asarray``: ``np.asarray`` alone
would silently turn ``true`` into 1.0, ``"3"`` into 3.0 and ``null`` into NaN. Only
when that fails do the slow helpers below walk the lists in Python to say exactly what
is wrong and where. Nesting is bounded (``MAX_DEPTH``) so hostile input cannot recurse.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain

import numpy as np

NUMBER_TYPES = (int, float)  # exact types: bool is an int subclass and must not pass
_NUMBER_TYPE_SET = set(NUMBER_TYPES)
#: Deeper nesting is no input any model here takes; it also bounds the recursion below.
MAX_DEPTH = 16


def _depth(values: object) -> int:
    """Nesting depth along the first elements (a regular array has it everywhere)."""
    depth = 0
    while isinstance(values, list) and depth <= MAX_DEPTH:
        depth += 1
        if not values:
            break
        values = values[0]
    return depth


def numbers_array(values: object, *, check_types: bool = True) -> np.ndarray | None:
    """A regular float64 array of ``values``, or None if ragged or holding non-numbers.

    ``check_types=False`` is for callers that know the JSON holds no booleans (the one
    type numpy would silently take for a number): numpy's own conversion is then the
    check, in one pass, and whole numbers may come back as an integer array.
    """
    depth = _depth(values)
    if depth > MAX_DEPTH:
        return None
    if not check_types:
        return _numbers_by_numpy(values)
    elements: Iterable[object] = values if depth else [values]  # type: ignore[assignment]
    try:
        for _ in range(depth - 1):
            elements = chain.from_iterable(elements)  # type: ignore[arg-type]
        if not set(map(type, elements)) <= _NUMBER_TYPE_SET:
            return None
        return np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        return None


def _numbers_by_numpy(values: object) -> np.ndarray | None:
    """Strings turn the array into text, null or objects into object dtype, raggedness
    into an error: only arrays of real numbers come through."""
    try:
        array = np.array(values)
    except (ValueError, TypeError, OverflowError):
        return None
    return array if array.dtype.kind in "iuf" else None


def nested_shape(value: object, depth: int = 0) -> tuple[int, ...] | None:
    """Shape of a nested list (non-lists are scalars); None when ragged or too deep."""
    if not isinstance(value, list):
        return ()
    if not value:
        return (0,)
    if depth >= MAX_DEPTH:
        return None
    inner = {nested_shape(child, depth + 1) for child in value}
    if len(inner) != 1 or None in inner:
        return None
    return (len(value), *inner.pop())


def leaves(value: object, path: str = "", depth: int = 0) -> Iterator[tuple[str, object]]:
    """Every non-list element with its index path, e.g. ``("[3][5]", 0.5)``."""
    if isinstance(value, list) and depth < MAX_DEPTH:
        for i, child in enumerate(value):
            yield from leaves(child, f"{path}[{i}]", depth + 1)
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
    if _depth(value) > MAX_DEPTH:
        return f"a list nested more than {MAX_DEPTH} levels deep"
    shape = nested_shape(value)
    if shape is None:
        return "a ragged nested list"
    if len(shape) == 1:
        return f"{shape[0]} values"
    return "x".join(str(d) for d in shape)
