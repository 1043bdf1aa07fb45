"""The interpolation route: two endpoints, each a dataset example, numbers or an image."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from clients._http import Request
from clients.inputs import DatasetRef, ImageFile, to_item
from clients.ops._batches import Op
from clients.ops.v1 import alphas_json
from clients.results import Interpolation
from clients.routes import verb_path

#: What an interpolation mixes: the inputs' pixels, or their embeddings (run through ``head``).
Space = Literal["pixel", "embedding"]


def _endpoint(value: Any, name: str) -> DatasetRef | ImageFile | dict[str, Any]:
    item = to_item(value, 0 if name == "a" else 1)
    if isinstance(item, DatasetRef | ImageFile):
        return item
    return {"instance": item.tolist()}


def interpolate(
    model: str,
    a: Any,
    b: Any,
    *,
    version: int | None,
    space: Space,
    alphas: Sequence[float] | None,
    start: float,
    stop: float,
    num: int,
    layer: str | None,
    ood: bool = False,
    ood_method: str | None = None,
) -> Op:
    """``x(alpha) = alpha * a + (1 - alpha) * b``. With an image among the endpoints the
    request goes as multipart (files ``a``/``b``, the rest as form fields holding JSON)."""
    ends = {"a": _endpoint(a, "a"), "b": _endpoint(b, "b")}
    fields: dict[str, Any] = {"space": space, "alphas": alphas_json(alphas, start, stop, num)}
    if layer is not None:
        fields["layer"] = layer
    if ood or ood_method is not None:
        fields["ood"] = True
    if ood_method is not None:
        fields["ood_method"] = ood_method
    path = verb_path(model, version, "interpolate")
    if any(isinstance(e, ImageFile) for e in ends.values()):
        files = [e.part(n) for n, e in ends.items() if isinstance(e, ImageFile)]
        data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
        for name, end in ends.items():
            if not isinstance(end, ImageFile):
                data[name] = json.dumps(end.to_json() if isinstance(end, DatasetRef) else end)
        request = Request("POST", path, files=files, data=data)
    else:
        body = {n: e.to_json() if isinstance(e, DatasetRef) else e for n, e in ends.items()}
        request = Request("POST", path, json={**body, **fields})
    reply = yield request
    return Interpolation.from_json(reply)
