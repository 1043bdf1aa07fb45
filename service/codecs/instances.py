"""``{"instances": [...]}``: the TF Serving row format.

Each instance is the model's shape as nested lists (28x28, 8x8), flattened (784, 64) or,
for vector models, just its values (xor: 2). With ``scale="unit"`` the values are in
[0, 1] (what most image tooling produces) and are mapped onto the manifest's range.
"""

from __future__ import annotations

import numpy as np

from core.manifest import InputSpec
from service.codecs.jsonlist import (
    describe_json,
    describe_shape,
    first_non_number,
    nested_shape,
    numbers_array,
)
from service.codecs.validate import (
    SCALES,
    Scale,
    accepted_shapes,
    check_batch_size,
    conform,
    dims_text,
)
from service.errors import InvalidInput


def _expected(spec: InputSpec) -> str:
    if len(spec.shape) == 1:
        return f"{spec.size} values"
    return f"{spec.size} values or a {dims_text(spec.shape)} nested list"


def _instance_error(i: int, instance: object, spec: InputSpec, whole: object) -> InvalidInput:
    shapes = accepted_shapes(spec)
    if nested_shape(instance) not in shapes:
        message = f"instance {i}: expected {_expected(spec)}, got {describe_shape(instance)}"
        if i == 0 and nested_shape(whole) in shapes:
            message += " (one instance must still be wrapped in the instances list)"
        return InvalidInput(message)
    found = first_non_number(instance)
    if found is not None:
        path, value = found
        return InvalidInput(
            f"instance {i}: value at {path} is {describe_json(value)}; only numbers are accepted"
        )
    return InvalidInput(f"instance {i}: a value is too large to be a number")


def _one_by_one(instances: list[object], spec: InputSpec) -> np.ndarray:
    """The slow path: instances of mixed forms (nested and flat), or the first bad one."""
    rows = []
    for i, instance in enumerate(instances):
        row = numbers_array(instance)
        if row is None or row.shape not in accepted_shapes(spec):
            raise _instance_error(i, instance, spec, instances)
        rows.append(row.reshape(spec.shape))
    return np.stack(rows)


def decode_json_instances(
    instances: object,
    spec: InputSpec,
    *,
    scale: str = "raw",
    max_batch: int,
    booleans: bool = True,
) -> np.ndarray:
    """Parsed JSON instances -> float32 ``(N, *spec.shape)`` in ``spec.value_range``.

    ``booleans=False``: the caller saw no ``true``/``false`` in the raw body, so the
    element type scan can be left to numpy (see ``numbers_array``).
    """
    if scale not in SCALES:
        raise InvalidInput(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")
    if not isinstance(instances, list):
        raise InvalidInput(f"'instances' must be a list, got {describe_json(instances)}")
    check_batch_size(len(instances), max_batch)
    array = numbers_array(instances, check_types=booleans)
    if array is None or array.shape[1:] not in accepted_shapes(spec):
        array = _one_by_one(instances, spec)
    unit: Scale = "unit" if scale == "unit" else "raw"
    return conform(array, spec, scale=unit)
