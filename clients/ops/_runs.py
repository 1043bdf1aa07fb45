"""Send inputs as they are, for routes that take dataset examples by reference (``:explain``,
``:neighbors``): image files upload as multipart, dataset examples go as ``examples``,
numbers as ``instances``. A JSON body cannot hold files and an upload holds no JSON, so mixed
inputs go as runs of one kind, each in chunks of ``MAX_PER_REQUEST``, answered in order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

import numpy as np

from clients._http import Request
from clients.inputs import DatasetRef, ImageFile, Item, as_instances
from clients.ops._batches import MAX_PER_REQUEST, Op, instance_shape

T = TypeVar("T")
#: A multipart part as httpx takes it: (field, (filename, content, content type)).
FilePart = tuple[str, tuple[str, bytes, str]]


def kind_of(item: Item) -> str:
    """The body form an input travels in: ``files``, ``examples`` or ``instances``."""
    if isinstance(item, ImageFile):
        return "files"
    return "examples" if isinstance(item, DatasetRef) else "instances"


def runs(items: list[Item]) -> Iterator[tuple[str, list[tuple[int, Item]]]]:
    """Neighbouring inputs of one kind, with their positions: one body form each."""
    run: list[tuple[int, Item]] = []
    for position, item in enumerate(items):
        if run and kind_of(run[-1][1]) != kind_of(item):
            yield kind_of(run[0][1]), run
            run = []
        run.append((position, item))
    if run:
        yield kind_of(run[0][1]), run


def chunks(values: list[T]) -> list[list[T]]:
    return [values[i : i + MAX_PER_REQUEST] for i in range(0, len(values), MAX_PER_REQUEST)]


def send_in_runs(
    model: str,
    version: int | None,
    path: str,
    params: dict[str, Any],
    items: list[Item],
    *,
    extra_files: list[FilePart] | None = None,
    extra_json: dict[str, Any] | None = None,
) -> Op[list[Any]]:
    """POST every run's chunks to ``path`` with ``params`` in the query; return the decoded
    answers in the inputs' order. ``extra_files`` ride along with each upload and
    ``extra_json`` in each JSON body (``:explain``'s baseline). The model's input shape is
    asked for only when numbers need splitting into instances, and only once."""
    shape: tuple[int, ...] | None = None
    answers: list[Any] = []
    for kind, run in runs(items):
        if kind == "files":
            files = [item.part("files") for _, item in run if isinstance(item, ImageFile)]
            requests = [
                Request("POST", path, params=params, files=chunk + (extra_files or []))
                for chunk in chunks(files)
            ]
        else:
            if kind == "examples":
                values = [item.to_json() for _, item in run if isinstance(item, DatasetRef)]
            else:
                if shape is None:
                    shape = yield from instance_shape(model, version)
                arrays = [as_instances(a, shape, p) for p, a in run if isinstance(a, np.ndarray)]
                values = np.concatenate(arrays).tolist()
            requests = [
                Request("POST", path, params=params, json={kind: chunk, **(extra_json or {})})
                for chunk in chunks(values)
            ]
        for request in requests:
            answers.append((yield request))
    return answers
