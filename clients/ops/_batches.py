"""Split mixed inputs into as few requests as keep their order: runs of files go up as one
multipart upload, runs of numbers (dataset examples resolved first) as one JSON batch."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from clients._http import Request
from clients.inputs import DatasetRef, ImageFile, as_instances, to_items
from clients.routes import dataset_path, model_path

#: Most instances sent in one request; bigger batches are split (the server caps them too).
MAX_PER_REQUEST = 256

R = TypeVar("R")
#: An operation: yields the requests it needs, is sent each decoded reply, returns its result.
Op = Generator[Request, Any, R]


@dataclass(frozen=True)
class Batch:
    files: list[ImageFile] | None = None
    instances: np.ndarray | None = None

    def request(self, path: str, params: dict[str, Any]) -> Request:
        if self.files is not None:
            parts = [f.part("files") for f in self.files]
            return Request("POST", path, params=params, files=parts)
        assert self.instances is not None
        return Request("POST", path, params=params, json={"instances": self.instances.tolist()})


def instance_shape(model: str, version: int | None) -> Op:
    """The model's input shape, from its metadata (cached by the client)."""
    body = yield Request("GET", model_path(model, version), cacheable=True)
    return tuple(int(d) for d in body["input"]["shape"])


def dataset_instance(ref: DatasetRef) -> Op:
    body = yield Request("GET", dataset_path(ref.dataset, ref.index), cacheable=True)
    return np.asarray(body["instance"], dtype=np.float32)


def batches(model: str, version: int | None, inputs: Any) -> Op:
    """Every input as part of a Batch, in order."""
    items = to_items(inputs)
    shape: tuple[int, ...] | None = None
    runs: list[list[ImageFile] | list[np.ndarray]] = []
    for position, item in enumerate(items):
        if isinstance(item, ImageFile):
            if runs and isinstance(runs[-1][0], ImageFile):
                runs[-1].append(item)  # type: ignore[arg-type]
            else:
                runs.append([item])
            continue
        array = (yield from dataset_instance(item)) if isinstance(item, DatasetRef) else item
        if shape is None:
            shape = yield from instance_shape(model, version)
        instances = as_instances(array, shape, position)
        if runs and isinstance(runs[-1][0], np.ndarray):
            runs[-1].append(instances)  # type: ignore[arg-type]
        else:
            runs.append([instances])
    out: list[Batch] = []
    for run in runs:
        if isinstance(run[0], ImageFile):
            for i in range(0, len(run), MAX_PER_REQUEST):
                out.append(Batch(files=list(run[i : i + MAX_PER_REQUEST])))  # type: ignore[arg-type]
        else:
            stacked = np.concatenate(run)  # type: ignore[arg-type]
            for i in range(0, len(stacked), MAX_PER_REQUEST):
                out.append(Batch(instances=stacked[i : i + MAX_PER_REQUEST]))
    return out
