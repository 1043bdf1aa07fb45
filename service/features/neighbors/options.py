"""``:neighbors``' query parameters."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.manifest import LAYER_NAME_PATTERN
from core.neighbors import Metric

#: Most neighbours one input may ask for.
MAX_NEIGHBORS = 100
#: How many neighbours a search keeps: the first of these that holds the request's k.
#: Requests in one bucket are searched together; a search keeping fewer is cheaper (in
#: process, 50,000 x 128: 0.37 ms a query keeping 8, 0.52 keeping 100).
KEPT_NEIGHBORS = (8, 32, MAX_NEIGHBORS)


def kept_neighbors(k: int) -> int:
    """The neighbours a search for ``k`` of them keeps (``KEPT_NEIGHBORS``)."""
    return next(kept for kept in KEPT_NEIGHBORS if kept >= k)


class NeighborOptions(BaseModel):
    """``:neighbors``' query parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    k: int = Field(8, ge=1, le=MAX_NEIGHBORS, description="Neighbours per input.")
    dataset: str | None = Field(
        None,
        max_length=64,
        description="The split searched, e.g. mnist-train; default the model's train split.",
    )
    space: Literal["embedding", "pixel"] = Field(
        "embedding", description="Compare the model's embeddings or the raw inputs."
    )
    layer: str | None = Field(
        None,
        max_length=64,
        pattern=LAYER_NAME_PATTERN,
        description="With space=embedding, the layer whose activations are compared; default "
        "the embedding layer. Other layers only where the model's recipe indexed them "
        "(``neighbor_layers``).",
    )
    metric: Metric = Field("euclidean", description="euclidean or cosine distance.")
