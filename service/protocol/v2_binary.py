"""The Open Inference Protocol's binary-data extension (what tritonclient sends by default).

A body is a JSON header, whose byte length is in the ``Inference-Header-Content-Length``
header, followed by the raw tensors in input order; each binary input says its size in
``parameters.binary_data_size``. Responses use the same framing for outputs that ask for
``binary_data``.
"""

from __future__ import annotations

from typing import Any

import orjson

from service.codecs.json_body import parse_bounded
from service.errors import InvalidInput
from service.protocol.numbers import byte_count

HEADER_LENGTH = "Inference-Header-Content-Length"
BINARY_CONTENT_TYPE = "application/octet-stream"


def _split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    length = byte_count(header_length, len(body))
    if length is None:
        raise InvalidInput(
            f"{HEADER_LENGTH} is {header_length[:40]!r}; it must be a byte count no larger "
            f"than the body ({len(body)} bytes)"
        )
    return body[:length], body[length:]


def _parse_head(head: bytes) -> Any:
    try:
        return orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON inference request: {exc}") from None


async def split_body_bounded(
    body: bytes, header_length: str | None, max_bytes: int
) -> tuple[Any, bytes]:
    """-> (parsed JSON header, the binary tail); the header is parsed within ``max_bytes``,
    off the loop when large (``service.codecs.json_body``)."""
    head, tail = _split(body, header_length)
    return await parse_bounded(head, _parse_head, max_bytes=max_bytes), tail


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
