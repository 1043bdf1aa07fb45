"""The Open Inference Protocol's model metadata: one input, and every name the output
registry answers for the version (``service.dataplane.outputs``)."""

from __future__ import annotations

from dataclasses import dataclass

from service.dataplane import DataPlane
from service.protocol.infer import input_name

PLATFORM = "tensorflow_savedmodel"


@dataclass(frozen=True, slots=True)
class TensorMetadata:
    name: str
    datatype: str
    shape: list[int]


@dataclass(frozen=True, slots=True)
class ModelMetadata:
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


def model_metadata(plane: DataPlane, name: str, version: int | None) -> ModelMetadata:
    loaded = plane.model(name, version)
    versions = plane.repository.snapshot.versions(name)
    return ModelMetadata(
        name=loaded.name,
        versions=[str(v) for v in versions],
        platform=PLATFORM,
        inputs=[TensorMetadata(input_name(loaded), "FP32", [-1, *loaded.manifest.input.shape])],
        outputs=[
            TensorMetadata(output, "FP32", [-1, *shape])
            for output, shape in plane.outputs.shapes(loaded).items()
        ],
    )
