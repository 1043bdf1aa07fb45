"""A user's model as one flat graph of its layers, with stable names and the cuts.

``flatten`` replays the model on a fresh input, calling every leaf layer itself (the layers
of a nested model are entered, not called as one block), so each layer's activation is a
tensor of one graph built from the user's own layer objects, and any sub-model of that
graph shares their weights. A layer's *path* is its name prefixed by the nested models
around it (``block__conv1``), reduced to letters, digits and ``_`` so it can name files,
endpoints and URL parameters; a layer called twice gets ``_call2`` on its second path.

A layer *cuts* the graph when every path from the input to the output passes through its
activation: only then is the rest of the network a function of that activation alone, so
only there can a head (or a layer tail) start. A layer inside a residual block does not:
the skip connection goes around it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
from keras import tree

from training.importer.errors import ImportRefused

#: Identity at inference: nothing to see in their output.
IDENTITY_AT_INFERENCE = (
    keras.layers.Dropout,
    keras.layers.SpatialDropout1D,
    keras.layers.SpatialDropout2D,
    keras.layers.SpatialDropout3D,
    keras.layers.GaussianNoise,
    keras.layers.GaussianDropout,
    keras.layers.AlphaDropout,
)
#: Output names of the predict endpoint: a user layer of that name gets a suffix.
RESERVED_PATHS = frozenset({"probabilities", "logits"})
SEPARATOR = "__"


@dataclass(frozen=True)
class Call:
    """One call of an operation in the flat graph."""

    path: str
    operation: Any
    inputs: tuple[keras.KerasTensor, ...]
    outputs: tuple[keras.KerasTensor, ...]

    @property
    def is_layer(self) -> bool:
        return isinstance(self.operation, keras.layers.Layer) and not isinstance(
            self.operation, keras.layers.InputLayer
        )

    @property
    def output(self) -> keras.KerasTensor:
        return self.outputs[0]


@dataclass
class FlatGraph:
    input: keras.KerasTensor
    output: keras.KerasTensor
    calls: list[Call] = field(default_factory=list)

    def producer(self, tensor: keras.KerasTensor) -> Call | None:
        return next((c for c in self.calls if any(o is tensor for o in c.outputs)), None)

    def cuts(self, tensor: keras.KerasTensor) -> bool:
        """Whether every path from the input to the output passes through ``tensor``."""
        if tensor is self.output:
            return True
        edges: dict[int, list[keras.KerasTensor]] = {}
        for call in self.calls:
            for i in call.inputs:
                edges.setdefault(id(i), []).extend(call.outputs)
        seen, todo = {id(self.input)}, [self.input]
        while todo:
            for nxt in edges.get(id(todo.pop()), []):
                if nxt is tensor or id(nxt) in seen:
                    continue
                if nxt is self.output:
                    return False
                seen.add(id(nxt))
                todo.append(nxt)
        return True


def _clean(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return cleaned if cleaned[:1].isalpha() else f"l{cleaned}"


def flatten(
    model: keras.Model, input_shape: tuple[int, ...], before: keras.layers.Layer | None = None
) -> FlatGraph:
    """Replay ``model`` on a fresh ``keras.Input(input_shape, name="x")``, through ``before``
    first when given (the scaling the import adds)."""
    x = keras.Input(input_shape, name="x")
    calls: list[Call] = []
    taken: dict[str, int] = {}

    def path_of(prefix: str, name: str) -> str:
        base = prefix + _clean(name)
        if base in RESERVED_PATHS:
            base += "_layer"
        taken[base] = taken.get(base, 0) + 1
        return base if taken[base] == 1 else f"{base}_call{taken[base]}"

    def wrap(op: Any, prefix: str) -> Callable[..., Any]:
        if isinstance(op, keras.Model):
            inner = prefix + _clean(op.name) + SEPARATOR
            return lambda *args, **kwargs: replay(op, args[0], inner)

        def run(*args: Any, **kwargs: Any) -> Any:
            out = op(*args, **kwargs)
            ins = tuple(t for t in tree.flatten((args, kwargs)) if isinstance(t, keras.KerasTensor))
            outs = tuple(t for t in tree.flatten(out) if isinstance(t, keras.KerasTensor))
            calls.append(Call(path_of(prefix, op.name), op, ins, outs))
            return out

        return run

    def replay(part: keras.Model, inputs: Any, prefix: str) -> Any:
        if isinstance(part, keras.Sequential):
            h = inputs
            for layer in part.layers:
                h = wrap(layer, prefix)(h)
            return h
        if not hasattr(part, "_run_through_graph"):
            raise ImportRefused(
                f"{part.name!r} is a subclassed model (its call() is Python code): layerlens "
                "imports Sequential and functional models, whose graph it can read"
            )
        return part._run_through_graph(inputs, operation_fn=lambda op: wrap(op, prefix))

    if len(model.inputs) != 1:
        raise ImportRefused(
            f"the model has {len(model.inputs)} inputs; layerlens serves models with a single "
            "input tensor"
        )
    out = replay(model, wrap(before, "")(x) if before is not None else x, "")
    outs = tree.flatten(out)
    if len(outs) != 1:
        raise ImportRefused(
            f"the model has {len(outs)} outputs; a classifier has one (a class vector)"
        )
    return FlatGraph(input=x, output=outs[0], calls=calls)
