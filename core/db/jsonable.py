"""Turn evaluation results (often NumPy) into plain JSON values, or say exactly what is wrong.

Done before a write so a bad value fails with its path (``data['loss']``) instead of a
driver error halfway through a transaction. NaN and infinities are refused: they are
not JSON and PostgreSQL rejects them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

JSONValue = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]


def to_jsonable(value: Any, *, path: str = "data") -> JSONValue:
    """Return ``value`` as nested dicts/lists of str, int, float, bool and None.

    NumPy scalars and arrays become Python numbers and lists; tuples become lists.
    Raises ValueError naming the offending path for NaN/Inf, non-string keys and
    values JSON cannot hold.
    """
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()  # Python numbers, nested lists for arrays
    if isinstance(value, Mapping):
        out: dict[str, JSONValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path} has a non-string key {key!r}: JSON keys are strings")
            out[key] = to_jsonable(item, path=f"{path}[{key!r}]")
        return out
    if isinstance(value, list | tuple):
        return [to_jsonable(item, path=f"{path}[{i}]") for i, item in enumerate(value)]
    return _scalar(value, path)


def _scalar(value: Any, path: str) -> JSONValue:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)  # also turns int subclasses (IntEnum) into plain ints
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path} is {value!r}: NaN and infinity cannot be stored as JSON")
        return float(value)
    raise ValueError(f"{path} has type {type(value).__name__}, which JSON cannot hold")
