"""What the service holds: the model list, one version's manifest, weights, dataset examples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clients.results._convert import Record, floats


@dataclass(frozen=True)
class ModelSummary:
    name: str
    versions: list[int]
    default_version: int
    task: str
    architecture: str
    description: str
    class_names: list[str]

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ModelSummary:
        versions = [int(v) for v in raw.get("versions", [])]
        default = raw.get("default_version")
        return cls(
            name=str(raw["name"]),
            versions=versions,
            default_version=int(default) if default is not None else max(versions, default=0),
            task=str(raw.get("task", "")),
            architecture=str(raw.get("architecture", "")),
            description=str(raw.get("description", "")),
            class_names=[str(c) for c in raw.get("class_names", [])],
        )


@dataclass(frozen=True)
class LayerInfo:
    name: str
    output_shape: tuple[int, ...]
    kind: str
    #: Why no head starts here (an imported graph branches around the layer), else None.
    probe_only: str | None = None


@dataclass(frozen=True)
class ModelMetadata:
    """The version's manifest, with the parts a caller needs most lifted out; ``raw`` has all."""

    name: str
    version: int
    versions: list[int]
    task: str
    architecture: str
    description: str
    class_names: list[str]
    input_kind: str
    input_shape: tuple[int, ...]
    value_range: tuple[float, float]
    layers: list[LayerInfo]
    embedding_layer: str
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ModelMetadata:
        spec = raw.get("input", {})
        value_range = spec.get("value_range", [0.0, 1.0])
        return cls(
            name=str(raw["name"]),
            version=int(raw.get("version", 0)),
            versions=[int(v) for v in raw.get("versions", [])],
            task=str(raw.get("task", "")),
            architecture=str(raw.get("architecture", "")),
            description=str(raw.get("description", "")),
            class_names=[str(c) for c in raw.get("class_names", [])],
            input_kind=str(spec.get("kind", "")),
            input_shape=tuple(int(d) for d in spec.get("shape", [])),
            value_range=(float(value_range[0]), float(value_range[1])),
            layers=[
                LayerInfo(
                    str(lay["name"]),
                    tuple(lay.get("output_shape", [])),
                    lay.get("kind", ""),
                    lay.get("probe_only"),
                )
                for lay in raw.get("layers", [])
            ],
            embedding_layer=str(raw.get("embedding_layer", "embedding")),
            raw=raw,
        )

    @property
    def input_size(self) -> int:
        return int(np.prod(self.input_shape)) if self.input_shape else 0


@dataclass(frozen=True)
class Weights:
    """A Dense layer's kernel, (inputs, units): column j is what hidden unit j looks for; or a
    Conv2D layer's, (height, width, channels, filters): one small picture per filter."""

    layer: str
    shape: tuple[int, ...]
    weights: np.ndarray

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Weights:
        weights = floats(raw.get("weights"))
        shape = tuple(int(d) for d in raw.get("shape", weights.shape))
        return cls(layer=str(raw.get("layer", "")), shape=shape, weights=weights.reshape(shape))


@dataclass(frozen=True)
class DatasetExample(Record):
    """One example of a dataset the service holds, e.g. ``mnist-test`` index 1."""

    dataset: str
    index: int
    label: int | str
    instance: np.ndarray


@dataclass(frozen=True)
class DatasetExamples:
    """A run of a dataset's examples: ``instances[i]`` is example ``start + i``."""

    dataset: str
    start: int
    size: int  #: how many examples the whole split holds
    labels: np.ndarray
    instances: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def from_pages(cls, pages: list[dict[str, Any]]) -> DatasetExamples:
        first = pages[0]
        return cls(
            dataset=str(first["dataset"]),
            start=int(first["start"]),
            size=int(first["size"]),
            labels=np.concatenate([np.asarray(p["labels"], dtype=np.int64) for p in pages]),
            instances=np.concatenate([floats(p["instances"]) for p in pages]),
        )
