"""The registry of named outputs: everything one run of a model can answer, by name.

Two kinds of entry. A model's own outputs (``probabilities``, ``logits`` and every
probe-able layer) come from one endpoint call (``DataPlane.run_outputs``). A derived output
is computed from the decoded batch and those outputs by a feature (``attributions`` from
``:explain``; next the out-of-distribution verdict): it names the model outputs it reads,
so one endpoint call serves the derived outputs and the plain ones of a request together.

Every front door reads this one registry: the V2 metadata lists its names and shapes, V2
REST and gRPC validate and compute requested outputs through it (``service.protocol``), and
v1 ``:predict`` asks it for what the request's options add. Adding an output every answer
may carry is one ``DerivedOutput`` in its feature's folder, registered in
``service.features.DERIVED_OUTPUTS``; no door changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.manifest import LOGITS_LAYER, PROBABILITIES_LAYER
from service.errors import InvalidInput
from service.runtime import LoadedModel

#: What the ``predict`` and ``head`` endpoints return, and what V2 ``infer`` answers by default.
DEFAULT_OUTPUTS = (PROBABILITIES_LAYER, LOGITS_LAYER)

#: ``compute(plane, loaded, x, outputs, parameters)``: ``x`` the decoded batch, ``outputs``
#: the model outputs named by ``needs``, ``parameters`` the request's (V2 ``parameters``,
#: v1 query options). ``plane`` is the ``DataPlane``: typed loosely so that this core module
#: never imports the plane that holds the registry.
Compute = Callable[[Any, LoadedModel, np.ndarray, Mapping[str, np.ndarray], Mapping[str, Any]],
                   Awaitable[np.ndarray]]  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class DerivedOutput:
    """An output a feature computes from a run rather than an endpoint returns."""

    name: str
    #: The per-input shape for a version (the V2 metadata's ``shape`` without the batch axis).
    shape: Callable[[LoadedModel], tuple[int, ...]]
    compute: Compute
    #: The model outputs ``compute`` reads, computed in the same endpoint call as the
    #: request's own.
    needs: Callable[[LoadedModel], tuple[str, ...]] = lambda _loaded: ()


def model_output_shapes(loaded: LoadedModel) -> dict[str, tuple[int, ...]]:
    """probabilities, logits, then every probe-able layer (each once)."""
    classes = (loaded.manifest.num_classes,)
    shapes = {PROBABILITIES_LAYER: classes, LOGITS_LAYER: classes}
    for layer in loaded.manifest.layers:
        shapes.setdefault(layer.name, tuple(layer.output_shape))
    return shapes


class OutputRegistry:
    """The model's own outputs plus the registered derived ones, in that order."""

    def __init__(self, derived: Iterable[DerivedOutput] = ()) -> None:
        self.derived: dict[str, DerivedOutput] = {}
        for entry in derived:
            if entry.name in self.derived:
                raise ValueError(f"two derived outputs are named {entry.name!r}")
            self.derived[entry.name] = entry

    def shapes(self, loaded: LoadedModel) -> dict[str, tuple[int, ...]]:
        """Every name a version answers, with its per-input shape."""
        shapes = model_output_shapes(loaded)
        for name, entry in self.derived.items():
            shapes.setdefault(name, entry.shape(loaded))
        return shapes

    def check(self, loaded: LoadedModel, names: Sequence[str]) -> None:
        """400 for a name the version does not answer."""
        available = self.shapes(loaded)
        for name in names:
            if name not in available:
                raise InvalidInput(
                    f"unknown output {name!r}; model {loaded.name!r} has: {', '.join(available)}"
                )

    def plan(self, loaded: LoadedModel, names: Sequence[str]) -> tuple[list[str], list[str]]:
        """(model outputs to run, derived outputs to compute after), each once, in order."""
        plain: dict[str, None] = {}
        derived: list[str] = []
        for name in names:
            entry = self.derived.get(name)
            if entry is None:
                plain[name] = None
            elif name not in derived:
                derived.append(name)
                plain.update(dict.fromkeys(entry.needs(loaded)))
        return list(plain), derived
