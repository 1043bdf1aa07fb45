"""The explanation route (docs/explain.md): attributions for inputs of every kind ``predict``
takes. The options travel as query parameters whatever the body; a baseline given as an
input travels in the body (JSON field or multipart file ``baseline``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from clients.errors import InputError
from clients.inputs import DatasetRef, ImageFile, Item, to_item, to_items
from clients.ops._batches import Op
from clients.ops._runs import kind_of, send_in_runs
from clients.results import ExplainResult
from clients.routes import verb_path

#: How attributions are computed. The service holds the same lists; a test keeps them equal.
Method = Literal["integrated-gradients", "saliency", "smoothgrad", "occlusion"]
METHOD_VALUES: tuple[str, ...] = get_args(Method)
#: The target function ``f``: the target class's probability, or its logit.
Output = Literal["probability", "logit"]
OUTPUT_VALUES: tuple[str, ...] = get_args(Output)
#: Integrated gradients' quadrature along the path.
Rule = Literal["adaptive", "trapezoid", "gauss-legendre"]
RULE_VALUES: tuple[str, ...] = get_args(Rule)
#: The baselines the service makes itself (any other baseline is given as an input).
BaselineName = Literal["black", "blur", "mean", "noise"]
BASELINE_VALUES: tuple[str, ...] = get_args(BaselineName)

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


def _check_baseline_fits(items: list[Item], given: GivenBaseline | None) -> None:
    """A multipart body carries a baseline only as a file, a JSON body only as JSON."""
    kinds = {kind_of(item) for item in items}
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
    """One request per run of neighbouring inputs of one kind, in chunks (``send_in_runs``);
    the answers are joined in the inputs' order. Options left as None are not sent, so the
    service's defaults apply."""
    items = to_items(inputs)
    named, given = split_baseline(baseline)
    _check_baseline_fits(items, given)
    params = {
        "method": method, "target": target, "output": output, "layer": layer,
        "baseline": named, "steps": steps, "rule": rule, "samples": samples, "noise": noise,
        "seed": seed, "patch": patch, "stride": stride,
    }  # fmt: skip
    path = verb_path(model, version, "explain")
    extra_files = [given.part("baseline")] if isinstance(given, ImageFile) else []
    answers = yield from send_in_runs(
        model, version, path, params, items, extra_files=extra_files, extra_json=_body(given)
    )
    return ExplainResult.concat([ExplainResult.from_json(answer) for answer in answers])
