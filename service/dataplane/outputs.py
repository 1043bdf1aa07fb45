"""The registry of named outputs: everything one run of a model can answer, by name.

Two kinds of entry. A model's own outputs (``probabilities``, ``logits`` and every
probe-able layer) come from one endpoint call (``DataPlane.run_outputs``). A derived output
is computed from the decoded batch and those outputs by a feature (``attributions`` from
``:explain``; next the out-of-distribution verdict): it names the model outputs it reads,
so one endpoint call serves the derived outputs and the plain ones of a request together.

Every front door reads this one registry: the V2 metadata lists its names and shapes, V2
REST and gRPC validate and compute requested outputs through it (``service.protocol``), and
v1 ``:predict`` and ``:interpolate`` add an ``AnswerField`` to each row when the request
asks for it by key (``?ood=true``). Adding an output every answer may carry is a
``DerivedOutput`` (and, for the v1 answers, an ``AnswerField``) in its feature's folder,
registered in ``service.features``; no door changes.
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

#: ``annotate(plane, loaded, outputs, parameters)``: one JSON value per row of ``outputs``.
Annotate = Callable[[Any, LoadedModel, Mapping[str, np.ndarray], Mapping[str, Any]],
                    Awaitable[list[Any]]]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Run:
    """What a derived output is computed from: one request's run of one version."""

    plane: Any
    """The ``DataPlane``: typed loosely so that this core module never imports the plane
    that holds the registry."""
    loaded: LoadedModel
    x: np.ndarray
    """The decoded batch."""
    outputs: Mapping[str, np.ndarray]
    """The model outputs named by ``needs`` (and derived outputs computed before)."""
    parameters: Mapping[str, Any]
    """The request's (V2 ``parameters``, v1 query options)."""


Compute = Callable[[Run], Awaitable[np.ndarray]]


@dataclass(frozen=True, kw_only=True)
class DerivedOutput:
    """An output a feature computes from a run rather than an endpoint returns."""

    name: str
    #: The per-input shape for a version (the V2 metadata's ``shape`` without the batch axis).
    shape: Callable[[LoadedModel], tuple[int, ...]]
    compute: Compute
    #: The outputs ``compute`` reads: the model's own, computed in the same endpoint call
    #: as the request's, or other derived outputs, computed before it.
    needs: Callable[[LoadedModel], tuple[str, ...]] = lambda _loaded: ()


@dataclass(frozen=True, kw_only=True)
class AnswerField:
    """What a v1 answer adds to each of its rows when a request asks for ``key``: computed
    by ``annotate`` from the model outputs ``needs`` names (from a run of the inputs, or, in
    an embedding-space sweep, from the head's outputs and the mixed vectors)."""

    key: str
    needs: Callable[[LoadedModel], tuple[str, ...]]
    annotate: Annotate
    #: Refuses (4xx) what the request's parameters ask of this version before any work.
    check: Callable[[LoadedModel, Mapping[str, Any]], None] = lambda _loaded, _params: None
    #: Blocking: for rows of a stored split (the map's points), the ``needs`` that no
    #: neighbour index holds, from the field's own files (layer name -> vectors).
    stored_rows: Callable[[LoadedModel, str, np.ndarray], dict[str, np.ndarray]] = (
        lambda _loaded, _dataset, _rows: {}
    )


def model_output_shapes(loaded: LoadedModel) -> dict[str, tuple[int, ...]]:
    """probabilities, logits, then every probe-able layer (each once)."""
    classes = (loaded.manifest.num_classes,)
    shapes = {PROBABILITIES_LAYER: classes, LOGITS_LAYER: classes}
    for layer in loaded.manifest.layers:
        shapes.setdefault(layer.name, tuple(layer.output_shape))
    return shapes


class OutputRegistry:
    """The model's own outputs plus the registered derived ones, in that order."""

    def __init__(
        self, derived: Iterable[DerivedOutput] = (), fields: Iterable[AnswerField] = ()
    ) -> None:
        self.derived: dict[str, DerivedOutput] = {}
        for entry in derived:
            if entry.name in self.derived:
                raise ValueError(f"two derived outputs are named {entry.name!r}")
            self.derived[entry.name] = entry
        self.fields: dict[str, AnswerField] = {field.key: field for field in fields}

    def field(self, key: str) -> AnswerField:
        """The answer field ``key``; 400 when no feature registered it."""
        if key not in self.fields:
            raise InvalidInput(f"unknown answer field {key!r}; known: {', '.join(self.fields)}")
        return self.fields[key]

    def shapes(self, loaded: LoadedModel) -> dict[str, tuple[int, ...]]:
        """Every name a version answers, with its per-input shape."""
        shapes = model_output_shapes(loaded)
        for name, entry in self.derived.items():
            shapes.setdefault(name, entry.shape(loaded))
        return shapes

    def check(self, loaded: LoadedModel, names: Sequence[object]) -> None:
        """400 for a name the version does not answer (or that is not a string)."""
        available = self.shapes(loaded)
        for name in names:
            if not isinstance(name, str) or name not in available:
                raise InvalidInput(
                    f"unknown output {name!r}; model {loaded.name!r} has: {', '.join(available)}"
                )

    def plan(self, loaded: LoadedModel, names: Sequence[str]) -> tuple[list[str], list[str]]:
        """(model outputs to run, derived outputs to compute after, each after the derived
        outputs it needs), each once."""
        if self.derived.keys().isdisjoint(names):
            return list(dict.fromkeys(names)), []  # the model's own outputs: the hot path
        plain: dict[str, None] = {}
        derived: list[str] = []

        def add(name: str, seen: tuple[str, ...]) -> None:
            entry = self.derived.get(name)
            if entry is None:
                plain[name] = None
                return
            if name in derived:
                return
            if name in seen:
                raise ValueError(f"derived outputs need each other in a circle: {seen}")
            for need in entry.needs(loaded):
                add(need, (*seen, name))
            derived.append(name)

        for name in names:
            add(name, ())
        return list(plain), derived
