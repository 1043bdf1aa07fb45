"""Weights of the loaded SavedModel: a Dense layer's kernel, e.g. for 28x28 weight pictures."""

from __future__ import annotations

from typing import Any

from service.errors import UnknownLayer
from service.runtime import LoadedModel


def dense_kernel(loaded: LoadedModel, layer: str | None) -> dict[str, Any]:
    """A Dense layer's kernel (inputs x units), read once at load from the SavedModel."""
    dense = [s.name for s in loaded.manifest.layers if s.name in loaded.kernels]
    if layer is None:
        if not dense:
            raise UnknownLayer(f"model {loaded.name!r} has no Dense layer")
        layer = dense[0]
    elif layer not in loaded.kernels or loaded.manifest.layer(layer) is None:
        raise UnknownLayer(
            f"model {loaded.name!r} v{loaded.version} has no Dense layer {layer!r}; "
            f"Dense layers: {', '.join(dense)}"
        )
    kernel = loaded.kernels[layer]
    return {
        "model": loaded.name,
        "version": loaded.version,
        "layer": layer,
        "shape": list(kernel.shape),
        "weights": kernel,
    }
