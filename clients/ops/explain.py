"""The explanation route (docs/explain.md): attributions for inputs of every kind ``predict``
takes. The options travel as query parameters whatever the body; a baseline given as an
input travels in the body (JSON field or multipart file ``baseline``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

import numpy as np

from clients._http import Request
from clients.errors import InputError
from clients.inputs import DatasetRef, ImageFile, Item, as_instances, to_item, to_items
from clients.ops._batches import MAX_PER_REQUEST, Op, instance_shape
from clients.results import ExplainResult
from clients.routes import verb_path

#: How attributions are computed. The service holds the same lists; a test keeps them equal.
Method = Literal["integrated-gradients", "saliency", "smoothgrad", "occlusion"]
METHOD_VALUES: tuple[str, ...] = get_args(Method)
#: The target function ``f``: the target class's probability, or its logit.
Output = Literal["probability", "logit"]
OUTPUT_VALUES: tuple[str, ...] = get_args(Output)
#: Integrated gradients' quadrature along the path.
Rule = Literal["trapezoid", "gauss-legendre"]
RULE_VALUES: tuple[str, ...] = get_args(Rule)
#: The baselines the service makes itself (any other baseline is given as an input).
BaselineName = Literal["black", "blur", "mean", "noise"]
BASELINE_VALUES: tuple[str, ...] = get_args(BaselineName)

T = TypeVar("T")
#: A baseline given as an input, as it goes in the body: a file, or a JSON object.
GivenBaseline = ImageFile | DatasetRef | dict[str, Any]


def split_baseline(value: Any) -> tuple[str | None, GivenBaseline | None]:
    """``baseline=`` -> (the name for the query, or the input for the body). A name wins
    over a file of the same name in the working directory (pass a ``Path`` for the file)."""
    if value is None:
        return None, None
    if isinstance(value, str):
        if value in BASELINE_VALUES:
            return value, None
        if DatasetRef.parse(value) is None and not Path(value).exists():
            raise InputError(
                f"baseline {value!r} is neither a baseline the service makes "
                f"({', '.join(BASELINE_VALUES)}), a dataset example like 'mnist-test:1', "
                "nor an image file"
            )
    try:
        item = to_item(value)
    except InputError as exc:
        raise InputError(f"the baseline is not usable: {exc}") from exc
    if isinstance(item, ImageFile | DatasetRef):
        return None, item
    return None, {"instance": item.tolist()}


def _kind(item: Item) -> str:
    if isinstance(item, ImageFile):
        return "files"
    return "examples" if isinstance(item, DatasetRef) else "instances"


def _runs(items: list[Item]) -> Iterator[tuple[str, list[tuple[int, Item]]]]:
    """Neighbouring inputs of one kind, with their positions: one body form each."""
    run: list[tuple[int, Item]] = []
    for position, item in enumerate(items):
        if run and _kind(run[-1][1]) != _kind(item):
            yield _kind(run[0][1]), run
            run = []
        run.append((position, item))
    if run:
        yield _kind(run[0][1]), run


def _chunks(values: list[T]) -> list[list[T]]:
    return [values[i : i + MAX_PER_REQUEST] for i in range(0, len(values), MAX_PER_REQUEST)]


def _check_baseline_fits(items: list[Item], given: GivenBaseline | None) -> None:
    """A multipart body carries a baseline only as a file, a JSON body only as JSON."""
    kinds = {_kind(item) for item in items}
    if isinstance(given, ImageFile) and kinds != {"files"}:
        raise InputError(
            "an image file as the baseline goes with image files as the inputs; for dataset "
            "examples or numbers give the baseline as a dataset example or numbers"
        )
    if given is not None and not isinstance(given, ImageFile) and "files" in kinds:
        raise InputError(
            "image files are uploaded, and an upload carries its baseline as an image file "
            "too: give the baseline as an image (or a named baseline)"
        )


def _body(given: GivenBaseline | None) -> dict[str, Any]:
    if given is None:
        return {}
    return {"baseline": given.to_json() if isinstance(given, DatasetRef) else given}


def explain(
    model: str,
    inputs: Any,
    *,
    version: int | None,
    method: Method,
    target: int | str | None,
    output: Output,
    layer: str | None,
    baseline: Any,
    steps: int | None,
    rule: Rule | None,
    samples: int | None,
    noise: float | None,
    seed: int | None,
    patch: int | None,
    stride: int | None,
) -> Op:
    """One request per run of neighbouring inputs of one kind (files upload as multipart,
    dataset examples go as ``examples``, numbers as ``instances``), each run in chunks of
    ``MAX_PER_REQUEST``; the answers are joined in the inputs' order. Options left as None
    are not sent, so the service's defaults apply."""
    items = to_items(inputs)
    named, given = split_baseline(baseline)
    _check_baseline_fits(items, given)
    params = {
        "method": method, "target": target, "output": output, "layer": layer,
        "baseline": named, "steps": steps, "rule": rule, "samples": samples, "noise": noise,
        "seed": seed, "patch": patch, "stride": stride,
    }  # fmt: skip
    path = verb_path(model, version, "explain")
    shape: tuple[int, ...] | None = None
    parts = []
    for kind, run in _runs(items):
        if kind == "files":
            files = [item.part("files") for _, item in run if isinstance(item, ImageFile)]
            extra = [given.part("baseline")] if isinstance(given, ImageFile) else []
            requests = [
                Request("POST", path, params=params, files=chunk + extra)
                for chunk in _chunks(files)
            ]
        else:
            if kind == "examples":
                values = [item.to_json() for _, item in run if isinstance(item, DatasetRef)]
            else:
                if shape is None:
                    shape = yield from instance_shape(model, version)
                arrays = [as_instances(a, shape, p) for p, a in run if isinstance(a, np.ndarray)]
                values = np.concatenate(arrays).tolist()
            requests = [
                Request("POST", path, params=params, json={kind: chunk, **_body(given)})
                for chunk in _chunks(values)
            ]
        for request in requests:
            parts.append(ExplainResult.from_json((yield request)))
    return ExplainResult.concat(parts)
