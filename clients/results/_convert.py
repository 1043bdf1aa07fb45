"""Small helpers that turn the API's JSON into numpy arrays without guessing."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from functools import cache
from typing import Any, Self, TypeVar, get_args, get_origin, get_type_hints

import numpy as np

from clients.errors import ResponseError


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


T = TypeVar("T")


class Record:
    """A result read field by field from the JSON object of the same names (``record``)."""

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Self:
        return record(cls, raw)


def record(cls: type[T], raw: dict[str, Any]) -> T:
    """A dataclass from the JSON object with the same field names, each field read by its
    type: numbers, strings and records must be there; arrays, optional arrays, optional
    numbers, optional records and lists of records may be missing (empty, None, []); any other
    type is taken as it is, and must be there."""
    values = {}
    for name, kind in field_types(cls):
        if kind in (int, float, str):
            values[name] = kind(_required(cls, raw, name))
        elif kind is np.ndarray:
            values[name] = floats(raw.get(name))
        elif kind == np.ndarray | None:
            values[name] = maybe_floats(raw.get(name))
        elif kind == float | None:
            values[name] = None if raw.get(name) is None else float(raw[name])
        elif isinstance(kind, type) and is_dataclass(kind):
            values[name] = record(kind, _required(cls, raw, name))
        elif (inner := _optional_record(kind)) is not None:
            values[name] = None if raw.get(name) is None else record(inner, raw[name])
        elif get_origin(kind) is list and is_dataclass(item := get_args(kind)[0]):
            values[name] = [record(item, r) for r in raw.get(name, [])]
        else:
            values[name] = _required(cls, raw, name)
    return cls(**values)


def _optional_record(kind: Any) -> type | None:
    """``SomeRecord | None`` -> SomeRecord; any other type -> None."""
    args = get_args(kind)
    if len(args) != 2 or type(None) not in args:
        return None
    (inner,) = (a for a in args if a is not type(None))
    return inner if isinstance(inner, type) and is_dataclass(inner) else None


@cache
def field_types(cls: type) -> tuple[tuple[str, Any], ...]:
    """Each dataclass field's name and its type, the annotations resolved."""
    hints = get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in fields(cls))


def _required(cls: type, raw: dict[str, Any], name: str) -> Any:
    if name not in raw:
        raise ResponseError(f"the service's {cls.__name__} has no {name!r}: {sorted(raw)}")
    return raw[name]
