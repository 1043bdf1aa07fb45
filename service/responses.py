"""JSON responses through orjson: NumPy arrays are serialised directly, with no Python lists,
and the data plane's typed answers (dataclasses) natively, field by field in their order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi.responses import JSONResponse
from starlette.responses import Response

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
MEDIA_JSON = "application/json"


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


@dataclass
class Answer:
    """A 200 answer as bytes: what the fast lane sends raw and a route wraps in a Response.

    A plain dataclass: one is made per prediction, and a frozen one's ``__init__`` costs
    twice as much (see ``service.dataplane.answers``)."""

    content: bytes
    media_type: str = MEDIA_JSON
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        return Response(self.content, media_type=self.media_type, headers=dict(self.headers))
