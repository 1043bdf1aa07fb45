"""What a caller sends to the models of each dataset: the manifest's ``input`` contract.

Stated once, here: export writes it into the manifest, and the networks take their input
shape and their in-model scaling (the ``scale`` layer) from it, so the two cannot drift.
No Keras here, so the service's codec tests can use the real contracts cheaply.
"""

from __future__ import annotations

from typing import Literal

from core.manifest import InputSpec


def image_input(
    shape: tuple[int, int], value_max: float, fit: Literal["mnist-centre", "pad-resize"]
) -> InputSpec:
    """Light-on-dark images with values in [0, value_max], scaled to [0, 1] inside the model."""
    return InputSpec(
        kind="image",
        shape=shape,
        value_range=(0.0, value_max),
        scaling=f"x / {value_max:g}",
        image_polarity="light-on-dark",
        image_fit=fit,
    )


#: Per dataset. MNIST was made by centring the figure by mass, so uploads are fitted the
#: same way; the others are padded to a square and resized.
INPUTS: dict[str, InputSpec] = {
    "mnist": image_input((28, 28), 255.0, "mnist-centre"),
    "fashion-mnist": image_input((28, 28), 255.0, "pad-resize"),
    "sklearn-digits": image_input((8, 8), 16.0, "pad-resize"),
    "xor": InputSpec(kind="vector", shape=(2,), value_range=(-5.0, 5.0), scaling="none"),
}


def scale_factor(spec: InputSpec) -> float | None:
    """The factor the model multiplies its input by, read from ``spec.scaling`` (None for
    'none'); anything else is a contract no network implements, so it is refused."""
    if spec.scaling == "none":
        return None
    value_max = spec.value_range[1]
    if spec.scaling != f"x / {value_max:g}":
        raise ValueError(f"no network scales its input by {spec.scaling!r}")
    return 1.0 / value_max
