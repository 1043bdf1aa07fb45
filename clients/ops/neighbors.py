"""The nearest-examples route (docs/explain.md, ``:neighbors``): for inputs of every kind
``explain`` takes, the ``k`` nearest examples of a dataset split. The options travel as query
parameters whatever the body."""

from __future__ import annotations

from typing import Any, Literal, get_args

from clients.inputs import to_items
from clients.ops._batches import Op
from clients.ops._runs import send_in_runs
from clients.results import NeighborsResult
from clients.routes import verb_path

#: Where distances are measured: the model's embeddings, or the raw inputs. The service holds
#: the same lists; a test keeps them equal.
NeighborSpace = Literal["embedding", "pixel"]
NEIGHBOR_SPACE_VALUES: tuple[str, ...] = get_args(NeighborSpace)
#: ``cosine`` is ``1 - cos``, so both are distances: smaller is nearer.
Metric = Literal["euclidean", "cosine"]
METRIC_VALUES: tuple[str, ...] = get_args(Metric)


def neighbors(
    model: str,
    inputs: Any,
    *,
    version: int | None,
    k: int | None,
    dataset: str | None,
    space: NeighborSpace | None,
    metric: Metric | None,
    layer: str | None = None,
) -> Op:
    """Inputs go as ``explain``'s do (``send_in_runs``), the answers joined in the inputs'
    order. Options left as None are not sent, so the service's defaults apply."""
    items = to_items(inputs)
    params = {"k": k, "dataset": dataset, "space": space, "layer": layer, "metric": metric}
    path = verb_path(model, version, "neighbors")
    answers = yield from send_in_runs(model, version, path, params, items)
    return NeighborsResult.concat([NeighborsResult.from_json(answer) for answer in answers])
