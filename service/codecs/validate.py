"""Checks every codec shares: batch size, instance shape, finite values, value range.

Every codec ends in :func:`conform`, so all inputs reach the model the same way: a
C-contiguous float32 array shaped ``(N, *spec.shape)`` inside ``spec.value_range``.
The checks are vectorised; only the index of the first offending instance is looked up.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from core.manifest import InputSpec
from service.errors import InvalidInput, PayloadTooLarge

#: How JSON values are read: in the model's own range, or in [0, 1].
Scale = Literal["raw", "unit"]
SCALES: tuple[str, ...] = get_args(Scale)

#: Values this far outside the range (as a fraction of its width) are rounding, not errors;
#: they are clipped into the range.
RANGE_TOLERANCE = 1e-4


def check_batch_size(n: int, max_batch: int, *, noun: str = "instance") -> None:
    if n == 0:
        raise InvalidInput(f"empty batch: send at least one {noun}")
    if n > max_batch:
        raise PayloadTooLarge(
            f"batch of {n} {noun}s exceeds the limit of {max_batch} (max_batch_size)"
        )


def dims_text(shape: tuple[int, ...] | list[int]) -> str:
    return "x".join(str(d) for d in shape)


def accepted_shapes(spec: InputSpec) -> tuple[tuple[int, ...], ...]:
    """One instance may be given in the model's shape or flattened."""
    return (tuple(spec.shape),) if len(spec.shape) == 1 else (tuple(spec.shape), (spec.size,))


def expected_tensor_text(spec: InputSpec) -> str:
    return " or ".join(str(["N", *s]).replace("'", "") for s in accepted_shapes(spec))


def check_tensor_shape(shape: tuple[int, ...], spec: InputSpec) -> None:
    if len(shape) < 2 or tuple(shape[1:]) not in accepted_shapes(spec):
        hint = (
            " (one instance still needs the batch axis: N = 1)"
            if tuple(shape) in accepted_shapes(spec)
            else ""
        )
        raise InvalidInput(
            f"shape {list(shape)} does not match the model input: "
            f"expected {expected_tensor_text(spec)}{hint}"
        )


def _first_row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _all_inside(flat: np.ndarray, low: float, high: float) -> bool:
    """Two reductions answer the common case: NaN makes min/max NaN and the test false."""
    return bool(low <= flat.min()) and bool(flat.max() <= high)


def check_values(flat: np.ndarray, low: float, high: float, *, noun: str, note: str = "") -> None:
    """Refuse NaN/Inf and values outside [low, high] (with tolerance), naming the instance."""
    if _all_inside(flat, low, high):
        return
    if flat.dtype.kind == "f":
        bad_rows = ~np.isfinite(flat).all(axis=1)
        if bad_rows.any():
            i = _first_row(bad_rows)
            what = "NaN" if np.isnan(flat[i]).any() else "Inf"
            raise InvalidInput(f"{noun} {i} contains {what}")
    tolerance = RANGE_TOLERANCE * (high - low)
    row_min, row_max = flat.min(axis=1), flat.max(axis=1)
    bad_rows = (row_min < low - tolerance) | (row_max > high + tolerance)
    if bad_rows.any():
        i = _first_row(bad_rows)
        raise InvalidInput(
            f"{noun} {i} has values outside [{low:g}, {high:g}]{note}: "
            f"min {float(row_min[i]):g}, max {float(row_max[i]):g}"
        )


def conform(
    array: np.ndarray, spec: InputSpec, *, scale: Scale = "raw", noun: str = "instance"
) -> np.ndarray:
    """Validated ``(N, *shape)`` or ``(N, size)`` numbers -> float32 ``(N, *spec.shape)``.

    ``scale="unit"``: values are in [0, 1] and map linearly onto ``spec.value_range``.
    """
    check_tensor_shape(array.shape, spec)
    if array.dtype.kind not in "iuf":
        raise InvalidInput(f"dtype {array.dtype} is not accepted; send real numbers")
    low, high = spec.value_range
    flat = array.reshape(len(array), -1)
    if scale == "unit":
        check_values(flat, 0.0, 1.0, noun=noun, note=" (scale=unit)")
        out = flat.astype(np.float64) * (high - low) + low
    elif _all_inside(flat, low, high):  # nothing to clip: one conversion is all
        return np.array(flat, dtype=np.float32, order="C").reshape(len(array), *spec.shape)
    else:
        check_values(flat, low, high, noun=noun)
        out = flat
    clipped = np.clip(np.asarray(out, dtype=np.float32), low, high)
    return np.ascontiguousarray(clipped.reshape(len(array), *spec.shape))
