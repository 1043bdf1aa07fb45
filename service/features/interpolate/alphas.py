"""Interpolation between two inputs: the alphas, the mix, and the summary of class flips.

``x(alpha) = alpha * a + (1 - alpha) * b``: alpha 1 is ``a``, as in the course reports.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from service.errors import InvalidInput, PayloadTooLarge
from service.features.interpolate.answers import Flip, SweepEnd, SweepPoint, SweepSummary
from service.schemas import AlphaRange

#: Mixes this far out are already far beyond any input the model was trained on (the
#: reports swept [-1, 2]); further out, float32 overflows and probabilities become NaN.
MAX_ABS_ALPHA = 1000.0


def resolve_alphas(alphas: AlphaRange | Sequence[float], *, max_alphas: int) -> np.ndarray:
    if isinstance(alphas, AlphaRange):
        if alphas.num > max_alphas:
            raise PayloadTooLarge(
                f"alphas.num is {alphas.num}; at most {max_alphas} alphas per request"
            )
        values = np.linspace(alphas.start, alphas.stop, alphas.num)
    else:
        if len(alphas) > max_alphas:
            raise PayloadTooLarge(
                f"{len(alphas)} alphas sent; at most {max_alphas} alphas per request"
            )
        values = np.asarray(alphas, dtype=np.float64)
    if values.size == 0:
        raise InvalidInput("alphas is empty: send {start, stop, num} or a non-empty list")
    if not np.all(np.isfinite(values)):
        raise InvalidInput("alphas must be finite numbers")
    if np.abs(values).max() > MAX_ABS_ALPHA:
        raise InvalidInput(
            f"alphas must lie within [-{MAX_ABS_ALPHA:g}, {MAX_ABS_ALPHA:g}]; "
            f"got {float(values[np.argmax(np.abs(values))]):g}"
        )
    return values


def mix(a: np.ndarray, b: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """a, b: one row each, shape (1, ...); returns (len(alphas), ...) float32."""
    weights = alphas.reshape(-1, *([1] * (a.ndim - 1))).astype(np.float32)
    return weights * a + (1.0 - weights) * b


def summarise(
    alphas: np.ndarray, probabilities: np.ndarray, class_names: Sequence[str]
) -> tuple[list[SweepPoint], SweepSummary]:
    classes = probabilities.argmax(axis=1).tolist()
    alpha_list = alphas.tolist()
    points = [
        SweepPoint(
            alpha=alpha,
            class_id=c,
            label=class_names[c],
            probability=probabilities[i, c],
            probabilities=probabilities[i],
        )
        for i, (alpha, c) in enumerate(zip(alpha_list, classes, strict=True))
    ]
    flips = [
        Flip(
            alpha_before=alpha_list[i - 1],
            alpha_after=alpha_list[i],
            from_class_id=classes[i - 1],
            to_class_id=classes[i],
            from_label=class_names[classes[i - 1]],
            to_label=class_names[classes[i]],
        )
        for i in range(1, len(classes))
        if classes[i] != classes[i - 1]
    ]

    def end(i: int) -> SweepEnd:
        return SweepEnd(alpha_list[i], classes[i], class_names[classes[i]])

    return points, SweepSummary(end(0), end(-1), flips)
