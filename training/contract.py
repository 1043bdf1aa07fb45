"""The exported-model contract: what any Keras classifier must offer to become a version.

``training.export.export_model`` writes a version from two small records, whoever made the
network: a ``Description`` (what the manifest says about the model that Keras cannot) and
``ExportedModel`` (four Keras models over the same layer objects, one per SavedModel
endpoint, plus the probe-able layers). The trainer fills them from its ``Network`` chain
(``training.export.network_endpoints``); ``layerlens-train import`` fills them from a user's
graph (``training.importer``). One exporter, so both kinds of version carry the same
endpoints, manifest, LiteRT copy and tails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import keras

from core.manifest import EMBEDDING_LAYER, InputSpec, LayerSpec, TailsRecord

#: (staged version folder, input contract, model name) -> the tails record, or None when
#: they cannot be built (attribution to the input still works).
TailsBuilder = Callable[[Path, InputSpec, str], TailsRecord | None]


@dataclass(frozen=True, kw_only=True)
class Description:
    """What the manifest states besides the tensors."""

    name: str
    task: str
    architecture: str
    description: str
    class_names: tuple[str, ...]
    input: InputSpec
    reference: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ExportedModel:
    """Keras models sharing one set of layer objects (so ``head(embed(x))`` is ``predict(x)``).

    - ``predict``: x -> ``{"probabilities", "logits"}``
    - ``embed``: x -> ``{"embedding"}`` (the output of layer ``embedding_layer``)
    - ``layers``: x -> ``{layer name: activation}`` for every entry of ``layer_specs``
    - ``head``: embedding -> ``{"probabilities", "logits"}``
    """

    input_shape: tuple[int, ...]
    predict: keras.Model
    embed: keras.Model
    layers: keras.Model
    head: keras.Model
    layer_specs: tuple[LayerSpec, ...]
    embedding_layer: str = EMBEDDING_LAYER
    tails: TailsBuilder | None = None

    @property
    def embedding_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.head.inputs[0].shape[1:])
