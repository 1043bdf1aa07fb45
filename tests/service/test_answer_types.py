"""The SDK's results read what the service's typed answers hold, field by field.

Each pair below is (the service's answer type, the SDK's result type); the SDK may add its
own conveniences (``raw``, arrays gathered from the rows, class names from the catalogue)
and may leave keys unread, but every field it reads by name must be one the service writes,
so a field renamed or dropped on either side fails here rather than in a user's code.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest

from clients.results import explanation as sdk_explain
from clients.results import interpolation as sdk_sweep
from clients.results import metrics as sdk_metrics
from clients.results import models as sdk_models
from clients.results import neighbors as sdk_neighbors
from clients.results import prediction as sdk_predict
from clients.results import projection as sdk_projection
from clients.results.embedding_map import EmbeddingMap
from service.dataplane import catalogue
from service.features.datasets import route as datasets
from service.features.explain import answers as explain
from service.features.interpolate import answers as sweep
from service.features.maps import answers as maps
from service.features.metrics import answers as metrics
from service.features.neighbors import answers as neighbors
from service.features.predict import answers as predict
from service.features.weights import kernels

#: (service type, SDK type, SDK fields the service does not write, service keys left unread)
PAIRS: list[tuple[Any, Any, set[str], set[str]]] = [
    (predict.Predictions, sdk_predict.PredictResult, {"raw"}, set()),
    (predict.Prediction, sdk_predict.Prediction, set(), {"input"}),
    (predict.TopK, sdk_predict.TopK, set(), set()),
    (sweep.Sweep, sdk_sweep.Interpolation, {"raw", "flips"}, {"summary"}),
    (sweep.SweepPoint, sdk_sweep.InterpolationPoint, set(), set()),
    (sweep.Flip, sdk_sweep.Flip, set(), set()),
    (explain.Explanations, sdk_explain.ExplainResult, {"raw"}, set()),
    (explain.Explanation, sdk_explain.Explanation, set(), set()),
    (explain.ExplanationPath, sdk_explain.ExplanationPath, set(), set()),
    (neighbors.Neighbors, sdk_neighbors.NeighborsResult, {"raw"}, set()),
    (neighbors.NeighborResult, sdk_neighbors.Neighborhood, set(), set()),
    (neighbors.Neighbor, sdk_neighbors.Neighbor, set(), set()),
    (neighbors.Vote, sdk_neighbors.NeighborVote, set(), set()),
    (
        maps.MapAxes,
        sdk_projection.Projection,
        set(),
        {"seed", "library", "params", "seconds", "cpu_seconds"},  # provenance, for readers
    ),
    (maps.MapPlacement, sdk_projection.Projected, set(), set()),
    (maps.MapPoints, EmbeddingMap, {"class_names"}, set()),
    (metrics.StoredEvaluations, sdk_metrics.Metrics, {"raw"}, set()),
    (
        metrics.CellPage,
        sdk_metrics.CellExamples,
        {"raw", "probabilities", "instances"},
        {"labels", "probability", "instances"},
    ),
    (catalogue.ModelSummary, sdk_models.ModelSummary, set(), set()),
    (kernels.Kernel, sdk_models.Weights, set(), {"model", "version"}),
    (datasets.Example, sdk_models.DatasetExample, set(), set()),
    (datasets.Examples, sdk_models.DatasetExamples, set(), set()),
]


def _fields(kind: Any) -> set[str]:
    if dataclasses.is_dataclass(kind):
        return {f.name for f in dataclasses.fields(kind)}
    if typing.is_typeddict(kind):
        return set(kind.__annotations__)
    raise TypeError(f"{kind!r} is neither a dataclass nor a TypedDict")


@pytest.mark.parametrize(
    ("service_type", "sdk_type", "sdk_only", "unread"),
    PAIRS,
    ids=[f"{s.__name__}-{c.__name__}" for s, c, _o, _u in PAIRS],
)
def test_sdk_reads_what_the_service_writes(
    service_type: Any, sdk_type: Any, sdk_only: set[str], unread: set[str]
) -> None:
    written, read = _fields(service_type), _fields(sdk_type)
    assert read - sdk_only <= written, (
        f"the SDK reads fields the service never writes: {read - sdk_only - written}"
    )
    assert sdk_only.isdisjoint(written - unread), "a field listed as the SDK's own is written"
    assert written - unread <= read, (
        f"the service writes fields the SDK ignores: {written - unread - read}"
    )
    assert unread <= written, "a field listed as unread is not written"
