"""The verdict as the registry's named outputs: for the Open Inference Protocol (REST and
gRPC alike, so tritonclient and kserve clients ask for it like any tensor) and, as the
``ood`` answer field, for v1 ``:predict`` and ``:interpolate``.

Three FP32 outputs of shape ``[N]``: ``ood_score``, ``ood_threshold`` and ``ood_verdict``
(1 = out, 0 = in). The request parameter ``ood_method`` picks the method (default: the
version's); the protocol's outputs carry numbers only, so the method used is the one
asked for or the default the model's metadata (``GET /v1/models/{m}``, ``ood``) names.
The threshold and the verdict are computed from the score, once per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from service.dataplane import DataPlane
from service.dataplane.outputs import AnswerField, DerivedOutput, Run
from service.errors import InvalidInput
from service.features.ood.verdict import (
    choose_method,
    needed_outputs,
    score,
    stored_rows,
    verdicts,
)
from service.runtime import LoadedModel

SCORE, THRESHOLD, VERDICT = "ood_score", "ood_threshold", "ood_verdict"
OUTPUTS = (SCORE, THRESHOLD, VERDICT)
PARAMETER = "ood_method"
#: The key v1 answers carry the verdict under.
FIELD = "ood"


def method_of(loaded: LoadedModel, parameters: Mapping[str, Any] | None) -> str:
    """The method a request's ``ood_method`` parameter names (default: the version's);
    4xx for a bad one or a version without a calibration."""
    method = parameters.get(PARAMETER) if isinstance(parameters, Mapping) else None
    if method is not None and not isinstance(method, str):
        raise InvalidInput(f"parameter {PARAMETER} must be a string")
    return choose_method(loaded, method)


async def _score(run: Run) -> np.ndarray:
    method = method_of(run.loaded, run.parameters)
    values = await run.plane.in_thread(score, run.loaded, run.outputs, method)
    return values.astype(np.float32)


def _threshold_of(loaded: LoadedModel, parameters: Mapping[str, Any]) -> np.float32:
    record = loaded.manifest.ood
    method = method_of(loaded, parameters)
    return np.float32(record.methods[method].threshold) if record else np.float32("nan")


async def _threshold(run: Run) -> np.ndarray:
    threshold = _threshold_of(run.loaded, run.parameters)
    return np.full(run.outputs[SCORE].shape, threshold, dtype=np.float32)


async def _verdict(run: Run) -> np.ndarray:
    return (run.outputs[SCORE] > _threshold_of(run.loaded, run.parameters)).astype(np.float32)


def _scalar(_loaded: LoadedModel) -> tuple[int, ...]:
    return ()


def _needs_score(_loaded: LoadedModel) -> tuple[str, ...]:
    return (SCORE,)


DERIVED: tuple[DerivedOutput, ...] = (
    DerivedOutput(name=SCORE, shape=_scalar, compute=_score, needs=needed_outputs),
    DerivedOutput(name=THRESHOLD, shape=_scalar, compute=_threshold, needs=_needs_score),
    DerivedOutput(name=VERDICT, shape=_scalar, compute=_verdict, needs=_needs_score),
)


async def _annotate(
    plane: DataPlane,
    loaded: LoadedModel,
    outputs: Mapping[str, np.ndarray],
    parameters: Mapping[str, Any],
) -> list[Any]:
    """Per row ``{"score", "threshold", "verdict", "method"}``."""
    method = method_of(loaded, parameters)
    values = await plane.in_thread(score, loaded, outputs, method)
    return verdicts(loaded, values, method)


def _check(loaded: LoadedModel, parameters: Mapping[str, Any]) -> None:
    method_of(loaded, parameters)


VERDICT_FIELD = AnswerField(
    key=FIELD, needs=needed_outputs, annotate=_annotate, check=_check, stored_rows=stored_rows
)
