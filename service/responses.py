"""JSON responses through orjson: NumPy arrays are serialised directly, with no Python lists."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, default=_default, option=_OPTIONS)


def _default(value: Any) -> Any:
    """NumPy scalars and non-contiguous arrays, which orjson's fast path does not take."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__}")


class FastJSONResponse(JSONResponse):
    """The default response class of every route."""

    def render(self, content: Any) -> bytes:
        return dumps(content)
