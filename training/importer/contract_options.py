"""What the file cannot say: the options of ``layerlens-train import`` and the input contract
they complete.

The model states its input shape (and so grey or RGB, and the size). The caller's value range
(``--input-range``) and any scaling the model does not contain (``--scale-to``: the range it
was trained on, when callers send another) are the user's to state; a ``--task`` brings the
task's own contract (range, polarity, MNIST-style fitting for digits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import keras

from core.manifest import InputSpec
from training.importer.errors import ImportRefused
from training.inputs import INPUTS
from training.recipes import DIGITS, FASHION, SKLEARN_DIGITS, XOR, Task

#: --task choices: a task's test split evaluates the import and feeds its artefacts.
TASKS: dict[str, Task] = {t.name: t for t in (DIGITS, FASHION, SKLEARN_DIGITS, XOR)}
_RANGE = re.compile(r"^(-?\d+(?:\.\d+)?)-(-?\d+(?:\.\d+)?)$")


@dataclass(frozen=True, kw_only=True)
class ImportOptions:
    input_range: tuple[float, float] | None = None
    scale_to: tuple[float, float] | None = None
    classes: tuple[str, ...] | None = None
    embedding: str | None = None
    task: str | None = None
    input_shape: tuple[int, ...] | None = None
    custom_objects: str | None = None
    description: str | None = None


def parse_range(text: str, option: str = "--input-range") -> tuple[float, float]:
    match = _RANGE.match(text.strip())
    if not match or float(match[1]) >= float(match[2]):
        raise ImportRefused(f"{option} {text!r}: expected LOW-HIGH, e.g. 0-255 or 0-1")
    return float(match[1]), float(match[2])


def parse_classes(text: str) -> tuple[str, ...]:
    """``a,b,c`` or the path of a file with one class name a line."""
    path = Path(text)
    if path.is_file():
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    else:
        names = [part.strip() for part in text.split(",")]
    names = [n for n in names if n]
    if len(names) < 2 or len(set(names)) != len(names):
        raise ImportRefused(f"--classes: need two or more distinct names, got {names}")
    return tuple(names)


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(d) for d in text.lower().replace("x", ",").split(","))
    except ValueError:
        raise ImportRefused(f"--input-shape {text!r}: expected e.g. 32x32x3") from None
    if not shape or min(shape) < 1:
        raise ImportRefused(f"--input-shape {text!r}: every size must be positive")
    return shape


def model_input_shape(model: keras.Model, given: tuple[int, ...] | None) -> tuple[int, ...]:
    declared = tuple(model.inputs[0].shape[1:])
    if given is not None:
        if len(given) != len(declared) or any(
            d is not None and d != g for d, g in zip(declared, given, strict=True)
        ):
            raise ImportRefused(f"--input-shape {given} does not fit the model's input {declared}")
        return given
    if any(d is None for d in declared):
        raise ImportRefused(
            f"the model's input shape {declared} has free sizes; fix them with --input-shape"
        )
    return tuple(int(d) for d in declared)


def _has_rescaling(model: keras.Model) -> bool:
    def walk(m: keras.Model) -> bool:
        return any(
            isinstance(la, keras.layers.Rescaling) or (isinstance(la, keras.Model) and walk(la))
            for la in m.layers
        )

    return walk(model)


def input_contract(
    model: keras.Model, shape: tuple[int, ...], options: ImportOptions
) -> tuple[InputSpec, keras.layers.Layer | None]:
    """The manifest's input contract and the scaling layer to put in front (or None)."""
    task = TASKS[options.task] if options.task else None
    if len(shape) == 1:
        kind = "vector"
    elif len(shape) == 2 or (len(shape) == 3 and shape[-1] in (1, 3)):
        kind = "image"
    else:
        raise ImportRefused(
            f"input shape {shape}: layerlens serves vectors (n,), grey images (h, w) or "
            "(h, w, 1) and RGB images (h, w, 3)"
        )
    base = INPUTS[task.dataset] if task else None
    if base is not None and base.size != _size(shape):
        raise ImportRefused(
            f"--task {task.name} sends inputs of shape {base.shape}; the model takes {shape}"
        )
    inside = _has_rescaling(model)
    default = base.value_range if base else ((0.0, 255.0) if kind == "image" and inside else None)
    value_range = options.input_range or default or (0.0, 1.0)
    scale = None
    scaling = "inside the model" if inside else "none"
    if options.scale_to and options.scale_to != value_range:
        (a0, b0), (a1, b1) = value_range, options.scale_to
        factor = (b1 - a1) / (b0 - a0)
        offset = a1 - a0 * factor
        scale = keras.layers.Rescaling(factor, offset, name="scale")
        scaling = f"x * {factor:g} + {offset:g} (added at import)"
    spec = InputSpec(
        kind=kind,
        shape=shape,
        value_range=value_range,
        scaling=scaling,
        image_polarity=base.image_polarity if base else None,
        image_fit=(base.image_fit if base else "pad-resize") if kind == "image" else None,
    )
    return spec, scale


def _size(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
