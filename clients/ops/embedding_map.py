"""A sample of the model's test split already on the service's 2-D map (the page's Map view
asks the same route, so both draw the same points)."""

from __future__ import annotations

from clients._http import Request
from clients.errors import InputError
from clients.ops._batches import Op
from clients.ops.projection import map_params
from clients.results.embedding_map import EmbeddingMap
from clients.routes import model_path

#: Points drawn when not told, and the most the service returns in one map.
DEFAULT_MAP_SIZE = 2000
MAX_MAP_SIZE = 10_000


def embedding_map(
    model: str,
    *,
    num: int,
    seed: int,
    version: int | None,
    method: str | None = None,
    layer: str | None = None,
    ood: bool = False,
) -> Op[EmbeddingMap]:
    if not 2 <= num <= MAX_MAP_SIZE:
        raise InputError(f"a map holds 2 to {MAX_MAP_SIZE:,} examples, not {num}")
    if seed < 0:
        raise InputError(f"seed must be 0 or more, not {seed}")
    manifest = yield Request("GET", model_path(model, version), cacheable=True)
    params = {"num": num, "seed": seed, **map_params(method, layer)}
    if ood:
        params["ood"] = "true"
    raw = yield Request("GET", f"{model_path(model, version)}/projection/points", params=params)
    return EmbeddingMap.from_json(raw, [str(c) for c in manifest["class_names"]])
