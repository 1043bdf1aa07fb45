"""The Open Inference Protocol's binary-data extension (what tritonclient sends by default).

A body is a JSON header, whose byte length is in the ``Inference-Header-Content-Length``
header, followed by the raw tensors in input order; each binary input says its size in
``parameters.binary_data_size``. Responses use the same framing for outputs that ask for
``binary_data``.
"""

from __future__ import annotations

from typing import Any

import orjson

from service.errors import InvalidInput

HEADER_LENGTH = "Inference-Header-Content-Length"
BINARY_CONTENT_TYPE = "application/octet-stream"


def split_body(body: bytes, header_length: str | None) -> tuple[Any, bytes]:
    """-> (parsed JSON header, the binary tail)."""
    if header_length is None:
        head, tail = body, b""
    else:
        if not header_length.strip().isdigit() or int(header_length) > len(body):
            raise InvalidInput(
                f"{HEADER_LENGTH} is {header_length!r}; it must be a byte count no larger "
                f"than the body ({len(body)} bytes)"
            )
        head, tail = body[: int(header_length)], body[int(header_length) :]
    try:
        return orjson.loads(head), tail
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON inference request: {exc}") from None


def binary_size(tensor: dict[str, Any]) -> int | None:
    parameters = tensor.get("parameters") or {}
    if not isinstance(parameters, dict) or "binary_data_size" not in parameters:
        return None
    size = parameters["binary_data_size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidInput(f"binary_data_size must be a byte count, got {size!r}")
    return size


def take_binary_inputs(inputs: list[dict[str, Any]], tail: bytes) -> list[bytes | None]:
    """Slice the tail into each input's bytes (None for inputs that carry JSON data)."""
    chunks: list[bytes | None] = []
    offset = 0
    for tensor in inputs:
        size = binary_size(tensor)
        if size is None:
            chunks.append(None)
            continue
        if offset + size > len(tail):
            raise InvalidInput(
                f"input {tensor.get('name')!r} declares {size} binary bytes but the body "
                f"has only {len(tail) - offset} left"
            )
        chunks.append(tail[offset : offset + size])
        offset += size
    if offset != len(tail):
        raise InvalidInput(f"{len(tail) - offset} binary bytes in the body belong to no input")
    return chunks


def encode_response(header: dict[str, Any], binaries: list[bytes]) -> tuple[bytes, dict[str, str]]:
    """-> (body, extra headers). Without binary outputs the body is plain JSON."""
    head = orjson.dumps(header, option=orjson.OPT_SERIALIZE_NUMPY)
    if not binaries:
        return head, {}
    return head + b"".join(binaries), {HEADER_LENGTH: str(len(head))}
