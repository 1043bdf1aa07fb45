"""The verdict as Open Inference Protocol outputs, so tritonclient and kserve clients can
ask for it like any tensor (REST and gRPC alike, through ``DataPlane.run_v2_outputs``).

Three FP32 outputs of shape ``[N]``: ``ood_score``, ``ood_threshold`` and ``ood_verdict``
(1 = out, 0 = in). The request parameter ``ood_method`` picks the method (default: the
version's); the protocol's outputs carry numbers only, so the method used is the one
asked for or the default the model's metadata (``GET /v1/models/{m}``, ``ood``) names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from service.errors import InvalidInput
from service.ood.verdict import choose_method, needed_outputs, score

if TYPE_CHECKING:
    from service.runtime import LoadedModel

SCORE, THRESHOLD, VERDICT = "ood_score", "ood_threshold", "ood_verdict"
OUTPUTS = (SCORE, THRESHOLD, VERDICT)
PARAMETER = "ood_method"


def shapes() -> dict[str, tuple[int, ...]]:
    """Per-input shapes (without the batch axis) of the outputs, for the model metadata."""
    return dict.fromkeys(OUTPUTS, ())


def asked(names: Sequence[str]) -> bool:
    return any(name in OUTPUTS for name in names)


def plain_outputs(loaded: LoadedModel, names: Sequence[str]) -> list[str]:
    """What the run must compute for ``names`` (the verdict's outputs need the logits and
    the embedding)."""
    plain = [name for name in names if name not in OUTPUTS]
    return list(needed_outputs(loaded, plain)) if asked(names) else plain


def method_of(loaded: LoadedModel, parameters: Mapping[str, Any] | None) -> str:
    method = (parameters or {}).get(PARAMETER) if isinstance(parameters, Mapping) else None
    if method is not None and not isinstance(method, str):
        raise InvalidInput(f"parameter {PARAMETER} must be a string")
    return choose_method(loaded, method)


def outputs(
    loaded: LoadedModel, results: Mapping[str, np.ndarray], method: str
) -> dict[str, np.ndarray]:
    """Blocking: the three outputs from a run's ``results``."""
    record = loaded.manifest.ood
    values = score(loaded, results, method).astype(np.float32)
    threshold = np.float32(record.methods[method].threshold) if record else np.float32("nan")
    return {
        SCORE: values,
        THRESHOLD: np.full(values.shape, threshold, dtype=np.float32),
        VERDICT: (values > threshold).astype(np.float32),
    }
