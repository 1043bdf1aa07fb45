"""Inputs given in every form a request may take, as one decoded batch for a model.

``:interpolate``, ``:explain``, ``:neighbors`` and ``:project`` take, besides the payloads
``:predict`` takes, inline instances and dataset examples (``{"dataset": "mnist-test",
"index": 1}``), and a single named input may come as an upload. All of them are read here,
so every feature checks an input the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from service import codecs
from service.codecs.validate import check_batch_size
from service.dataplane.examples import dataset_example
from service.dataplane.payload import Payload
from service.dataplane.plane import DataPlane
from service.errors import InvalidInput
from service.runtime import LoadedModel
from service.schemas import ExampleRef, InlineInstance, InputsRequest

#: Uploads by their multipart field name: (file name, bytes).
Uploads = Mapping[str, tuple[str, bytes]]


async def read_one(
    plane: DataPlane,
    loaded: LoadedModel,
    which: str,
    ref: ExampleRef | InlineInstance | None,
    uploads: Uploads,
) -> np.ndarray:
    """The input named ``which`` (``a``, ``baseline``, ...) as one row ``(1, *shape)``: an
    upload of that name, an inline instance or a dataset example; 400 naming it otherwise."""
    spec = loaded.manifest.input
    if which in uploads:
        if ref is not None:
            raise InvalidInput(f"input {which!r} was both uploaded and given as a field")
        payload = Payload(kind="files", size=len(uploads[which][1]), files=[uploads[which]])
        return await plane.decode(loaded, payload)
    if isinstance(ref, InlineInstance):
        try:
            return codecs.decode_json_instances([ref.instance], spec, max_batch=1)
        except InvalidInput as exc:
            raise InvalidInput(f"input {which!r}: {exc.message}") from None
    if isinstance(ref, ExampleRef):
        x, _label = await plane.in_thread(
            dataset_example, ref.dataset, ref.index, plane.settings.data_dir
        )
        if tuple(x.shape) != tuple(spec.shape):
            raise InvalidInput(
                f"input {which!r}: {ref.dataset} examples have shape {list(x.shape)}, "
                f"model {loaded.name!r} takes {list(spec.shape)}"
            )
        return np.asarray(x, dtype=np.float32).reshape(1, *spec.shape)
    raise InvalidInput(
        f'input {which!r} is missing: send {{"instance": ...}}, '
        f'{{"dataset": "mnist-test", "index": 1}} or upload a file named {which!r}'
    )


async def read_batch(
    plane: DataPlane,
    loaded: LoadedModel,
    *,
    payload: Payload | None = None,
    request: InputsRequest | None = None,
) -> np.ndarray:
    """A batch given as a payload (uploads, .npy) or as a JSON request's ``instances`` or
    ``examples`` (exactly one of the two)."""
    if payload is not None:
        return await plane.decode(loaded, payload)
    request = request or InputsRequest()
    if (request.instances is None) == (request.examples is None):
        raise InvalidInput(
            'send the inputs as "instances": [...] or as "examples": '
            '[{"dataset": "mnist-test", "index": 1}], not both'
        )
    if request.instances is not None:
        json_payload = Payload(kind="json", size=0, json={"instances": request.instances})
        return await plane.decode(loaded, json_payload)
    examples = request.examples or []
    if not examples:
        raise InvalidInput('"examples" is empty: give at least one dataset example')
    check_batch_size(len(examples), plane.settings.max_batch_size, noun="example")
    rows = [
        await read_one(plane, loaded, f"examples[{i}]", ref, {}) for i, ref in enumerate(examples)
    ]
    return np.concatenate(rows)
