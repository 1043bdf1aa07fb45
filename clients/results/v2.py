"""The Open Inference Protocol's infer response, with each output as a shaped numpy array."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: The protocol's tensor datatypes and their numpy equivalents.
DATATYPES: dict[str, str] = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
}


def datatype_of(array: np.ndarray) -> str:
    for name, dtype in DATATYPES.items():
        if array.dtype == np.dtype(dtype):
            return name
    raise TypeError(f"no Open Inference Protocol datatype for numpy dtype {array.dtype}")


@dataclass(frozen=True)
class InferResult:
    model_name: str
    model_version: str | None
    id: str | None
    outputs: dict[str, np.ndarray]
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> InferResult:
        outputs = {}
        for tensor in raw.get("outputs", []):
            dtype = DATATYPES.get(str(tensor.get("datatype", "FP32")), "float32")
            data = np.asarray(tensor.get("data", []), dtype=dtype)
            outputs[str(tensor["name"])] = data.reshape([int(d) for d in tensor["shape"]])
        version = raw.get("model_version")
        return cls(
            model_name=str(raw.get("model_name", "")),
            model_version=None if version is None else str(version),
            id=raw.get("id"),
            outputs=outputs,
            raw=raw,
        )

    def __getitem__(self, name: str) -> np.ndarray:
        return self.outputs[name]
