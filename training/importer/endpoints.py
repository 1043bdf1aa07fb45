"""A flat graph (``training.importer.graph``) as the exported-model contract.

The classifier's two outputs: a model that ends in softmax (a ``Softmax`` or
``Activation("softmax")`` layer, or a ``Dense`` with ``activation="softmax"``) gives its
probabilities as they are and its logits from the tensor before the softmax (for the
``Dense`` case, the same kernel and bias without the activation); a model that ends in a
linear layer gives logits, and a ``Softmax`` added on top gives probabilities. Anything
else (one unit, a sigmoid, a ReLU) is not a probability or logit vector and is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from core.manifest import LOGITS_LAYER, PROBABILITIES_LAYER, InputSpec, LayerSpec, TailsRecord
from training.contract import ExportedModel
from training.importer.errors import ImportRefused
from training.importer.graph import IDENTITY_AT_INFERENCE, FlatGraph
from training.tails import write_checked

logger = logging.getLogger(__name__)

NOT_A_CUT = "the graph branches around it (e.g. a skip connection), so no head starts here"


class DenseLogits(keras.layers.Layer):
    """A ``Dense`` layer's output before its activation, from that layer's own weights."""

    def __init__(self, dense: keras.layers.Dense, **kwargs: object) -> None:
        super().__init__(name=f"{dense.name}_logits", **kwargs)
        self.dense = dense

    def call(self, x: tf.Tensor) -> tf.Tensor:
        y = keras.ops.matmul(x, self.dense.kernel)
        return keras.ops.add(y, self.dense.bias) if self.dense.use_bias else y


@dataclass(frozen=True)
class Outputs:
    logits: keras.KerasTensor
    probabilities: keras.KerasTensor
    #: What the file's own output is: "probabilities" (softmax last) or "logits".
    kind: str


def _activation_name(layer: object) -> str | None:
    activation = getattr(layer, "activation", None)
    return None if activation is None else getattr(activation, "__name__", str(activation))


def classifier_outputs(graph: FlatGraph) -> Outputs:
    out = graph.output
    if len(out.shape) != 2 or out.shape[-1] is None:
        raise ImportRefused(
            f"not a classifier: the output has shape {tuple(out.shape)}, not (batch, classes)"
        )
    if out.shape[-1] < 2:
        raise ImportRefused(
            "not a classifier: the output has a single unit (a regressor or a binary score); "
            "layerlens needs one probability or logit per class, at least two"
        )
    call = graph.producer(out)
    layer = call.operation if call else None
    activation = _activation_name(layer)
    if isinstance(layer, keras.layers.Softmax) or (
        isinstance(layer, keras.layers.Activation) and activation == "softmax"
    ):
        return Outputs(call.inputs[0], out, "probabilities")
    if activation == "softmax":
        if not isinstance(layer, keras.layers.Dense):
            raise ImportRefused(
                f"the last layer {call.path!r} ({type(layer).__name__}) applies softmax inside "
                "it; layerlens reads logits only before a Softmax layer or a Dense layer's own"
            )
        return Outputs(DenseLogits(layer)(call.inputs[0]), out, "probabilities")
    if activation not in (None, "linear"):
        raise ImportRefused(
            f"not a classifier: the last layer {call.path!r} ends in {activation!r}, "
            "neither a softmax (probabilities) nor linear (logits)"
        )
    return Outputs(out, keras.layers.Softmax(name=PROBABILITIES_LAYER)(out), "logits")


def layer_specs(graph: FlatGraph) -> tuple[LayerSpec, ...]:
    """Every probe-able layer, input to output; the ones that do not cut say why."""
    specs = []
    for call in graph.calls:
        if not call.is_layer or isinstance(call.operation, IDENTITY_AT_INFERENCE):
            continue
        kind = type(call.operation).__name__
        if len(call.outputs) != 1:
            raise ImportRefused(
                f"layer {call.path!r} ({kind}) has {len(call.outputs)} outputs; "
                "layerlens probes layers with one output"
            )
        shape = tuple(call.output.shape[1:])
        if any(d is None for d in shape):
            raise ImportRefused(
                f"layer {call.path!r} ({kind}) has an output of unknown size {shape}; "
                "give the input a fixed size (--input-shape)"
            )
        specs.append(
            LayerSpec(
                name=call.path,
                output_shape=tuple(int(d) for d in shape),
                kind=kind,
                probe_only=None if graph.cuts(call.output) else NOT_A_CUT,
            )
        )
    return tuple(specs)


def _output_specs(graph: FlatGraph, outputs: Outputs) -> tuple[LayerSpec, LayerSpec]:
    """``logits`` and ``probabilities`` as layers, as every trained model lists them: so
    one ``layers`` call answers a layer and the probabilities together (V2, gRPC)."""
    width = (int(graph.output.shape[-1]),)
    producer = graph.producer(outputs.logits)
    kind = type(producer.operation).__name__ if producer else "Dense"
    return (
        LayerSpec(name=LOGITS_LAYER, output_shape=width, kind=kind),
        LayerSpec(
            name=PROBABILITIES_LAYER,
            output_shape=width,
            kind="Softmax",
            probe_only="the probabilities: the logits are the last layer a head can start from",
        ),
    )


def default_embedding(graph: FlatGraph) -> str:
    """The layer whose output feeds the last Dense layer (through any Dropout)."""
    dense = [c for c in graph.calls if isinstance(c.operation, keras.layers.Dense)]
    if not dense:
        raise ImportRefused("the model has no Dense layer; name the embedding with --embedding")
    producer = graph.producer(dense[-1].inputs[0])
    while producer is not None and isinstance(producer.operation, IDENTITY_AT_INFERENCE):
        producer = graph.producer(producer.inputs[0])  # Dropout shows nothing of its own
    if producer is None or not producer.is_layer:
        raise ImportRefused(
            f"the last Dense layer {dense[-1].path!r} reads the input itself; name the "
            "embedding layer with --embedding"
        )
    return producer.path


def build(graph: FlatGraph, *, embedding: str | None) -> tuple[ExportedModel, Outputs]:
    """The four endpoint models over the graph's layers, and which output the file had."""
    outputs = classifier_outputs(graph)
    specs = layer_specs(graph)
    by_path = {c.path: c.output for c in graph.calls if len(c.outputs) == 1}
    chosen = embedding or default_embedding(graph)
    spec = next((s for s in specs if s.name == chosen), None)
    if spec is None:
        names = ", ".join(s.name for s in specs)
        raise ImportRefused(f"--embedding {chosen!r} is not a probe-able layer; layers: {names}")
    if spec.probe_only:
        raise ImportRefused(f"the embedding layer {chosen!r} cannot start a head: {NOT_A_CUT}")
    if len(spec.output_shape) != 1:
        raise ImportRefused(
            f"the embedding layer {chosen!r} outputs shape {spec.output_shape}; the head starts "
            "from a vector (e.g. the output of Flatten or GlobalAveragePooling2D)"
        )
    heads = {PROBABILITIES_LAYER: outputs.probabilities, LOGITS_LAYER: outputs.logits}
    specs = (*specs, *_output_specs(graph, outputs))
    by_path = {**by_path, **heads}
    x = graph.input
    head_from = {
        s.name: by_path[s.name]
        for s in specs
        if not s.probe_only
        and by_path[s.name] is not outputs.logits
        and by_path[s.name] is not outputs.probabilities
    }
    model = ExportedModel(
        input_shape=tuple(int(d) for d in x.shape[1:]),
        predict=keras.Model(x, heads),
        embed=keras.Model(x, {"embedding": by_path[chosen]}),
        layers=keras.Model(x, {s.name: by_path[s.name] for s in specs}),
        head=keras.Model(by_path[chosen], heads),
        layer_specs=specs,
        embedding_layer=chosen,
        tails=None,
    )
    tails_model = {name: keras.Model(t, heads) for name, t in head_from.items()}
    return _with_tails(model, tails_model), outputs


def _with_tails(model: ExportedModel, tails: dict[str, keras.Model]) -> ExportedModel:
    """Attach a tails builder: one endpoint per cut layer, from its activation on."""
    names = tuple(n for n in tails if n.isidentifier() and n not in _RESERVED)

    def write(folder: Path) -> None:
        archive = keras.export.ExportArchive()
        archive.track(model.predict)
        archive.track(model.layers)
        for name in names:
            shape = [None, *tails[name].inputs[0].shape[1:]]
            signature = [tf.TensorSpec(shape, tf.float32, name=name)]
            archive.add_endpoint(name, _inference(tails[name]), signature)
        archive.write_out(str(folder), verbose=False)

    def builder(folder: Path, spec: InputSpec, name: str) -> TailsRecord | None:
        try:
            return write_checked(folder, spec, names, write)
        except Exception as err:  # attribution to the input still works without tails
            logger.warning("%s: no layer tails (%s)", name, err)
            return None

    return ExportedModel(**{**model.__dict__, "tails": builder if names else None})


def _inference(model: keras.Model) -> Callable[[tf.Tensor], dict[str, tf.Tensor]]:
    """One-argument endpoint function (the archive reads its signature)."""
    return lambda activation: model(activation, training=False)


_RESERVED = frozenset({"variables", "trainable_variables", "non_trainable_variables", "signatures"})
