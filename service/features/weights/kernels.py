"""Weights of the loaded SavedModel: a Dense or Conv2D layer's kernel, for weight pictures
(a Dense kernel's columns reshaped to 28x28, a first convolution's filters as small squares)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from service.dataplane.answers import VersionAnswer
from service.errors import UnknownLayer
from service.runtime import LoadedModel


@dataclass
class Kernel(VersionAnswer):
    layer: str
    shape: list[int]
    weights: np.ndarray


def layer_kernel(loaded: LoadedModel, layer: str | None) -> Kernel:
    """A layer's kernel, read once at load from the SavedModel: Dense ``inputs x units``,
    Conv2D ``height x width x channels x filters``. The default stays the first Dense layer
    (what clients asked for before convolutions were offered)."""
    named = [s.name for s in loaded.manifest.layers if s.name in loaded.kernels]
    if layer is None:
        dense = [name for name in named if loaded.kernels[name].ndim == 2]
        if not dense:
            raise UnknownLayer(f"model {loaded.name!r} has no Dense layer")
        layer = dense[0]
    elif layer not in named:
        raise UnknownLayer(
            f"model {loaded.name!r} v{loaded.version} has no Dense or Conv2D layer {layer!r}; "
            f"layers with a kernel: {', '.join(named)}"
        )
    kernel = loaded.kernels[layer]
    return Kernel(loaded.name, loaded.version, layer, list(kernel.shape), kernel)
