"""OpenAPI request bodies and examples, so /docs shows every way to call a route."""

from __future__ import annotations

from typing import Any

from service.openapi import body_schema
from service.schemas import ExplainRequest, HeadRequest, InputsRequest, InterpolateRequest

_BLANK_28 = [[0] * 28 for _ in range(28)]


def _binary(description: str | None = None) -> dict[str, Any]:
    """A file (a form part, or the whole body)."""
    schema: dict[str, Any] = {"type": "string", "format": "binary"}
    return schema if description is None else {**schema, "description": description}


def _form(**parts: dict[str, Any]) -> dict[str, Any]:
    """A multipart/form-data body of these named parts."""
    return {"schema": {"type": "object", "properties": parts}}


def _files(description: str) -> dict[str, Any]:
    """The ``files`` part: one or more images."""
    return {"type": "array", "items": _binary(), "description": description}


INSTANCES_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A batch of instances as JSON, uploaded PNG/JPEG files, one raw PNG/JPEG "
        "image, or a .npy array.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["instances"],
                    "properties": {"instances": {"type": "array", "items": {}}},
                },
                "examples": {
                    "xor": {"summary": "Two XOR points", "value": {"instances": [[0, 1], [1, 1]]}},
                    "image-28x28": {
                        "summary": "One 28x28 image (values 0-255)",
                        "value": {"instances": [_BLANK_28]},
                    },
                    "flat": {
                        "summary": "One image as a flat list of 784 values",
                        "value": {"instances": [[0] * 784]},
                    },
                },
            },
            "multipart/form-data": _form(
                files=_files("PNG or JPEG images, any size and colour mode.")
            ),
            **{
                kind: {
                    "schema": _binary(),
                    "description": "One image as the whole body (no multipart), as "
                    "`curl --data-binary @digit.png` sends it; any size and colour mode.",
                }
                for kind in ("image/png", "image/jpeg")
            },
            "application/x-npy": {
                "schema": _binary(),
                "description": "numpy.save of a (N, *input shape) array.",
            },
        },
    }
}
#: The bodies besides JSON that every route taking instances reads the same way.
_NON_JSON = ("multipart/form-data", "image/png", "image/jpeg", "application/x-npy")


def _json_body(schema: dict[str, Any], examples: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema, "examples": examples}},
        }
    }


HEAD_BODY = _json_body(
    body_schema(HeadRequest),
    {
        "two-vectors": {
            "summary": "Two 6-wide embeddings (xor)",
            "value": {"embeddings": [[0.0] * 6, [1.0] * 6]},
        }
    },
)

_INTERPOLATE_SCHEMA = body_schema(InterpolateRequest)
#: The reports' pair: MNIST test image 1 (a '2') and 2 (a '1').
_REPORT_PAIR = {
    "a": {"dataset": "mnist-test", "index": 1},
    "b": {"dataset": "mnist-test", "index": 2},
}
INTERPOLATE_BODY = _json_body(
    _INTERPOLATE_SCHEMA,
    {
        "pixel": {
            "summary": "Pixel space: MNIST test images 1 and 2, 100 alphas",
            "value": {
                **_REPORT_PAIR,
                "space": "pixel",
                "alphas": {"start": 0, "stop": 1, "num": 100},
            },
        },
        "embedding": {
            "summary": "Embedding space, 50 alphas in [-1, 2]",
            "value": {
                **_REPORT_PAIR,
                "space": "embedding",
                "alphas": {"start": -1, "stop": 2, "num": 50},
            },
        },
        "inline": {
            "summary": "Inline instances (xor) and a list of alphas",
            "value": {
                "a": {"instance": [0, 1]},
                "b": {"instance": [1, 1]},
                "alphas": [0, 0.25, 0.5, 0.75, 1],
            },
        },
    },
)
INTERPOLATE_BODY["requestBody"]["content"]["multipart/form-data"] = _form(
    a=_binary("Image at alpha = 1."),
    b=_binary("Image at alpha = 0."),
    space={"type": "string", "enum": ["pixel", "embedding"]},
    alphas={"type": "string", "description": 'JSON, e.g. {"start": 0, "stop": 1, "num": 100}'},
    layer={"type": "string"},
)

EXPLAIN_BODY = _json_body(
    body_schema(ExplainRequest),
    {
        "example": {
            "summary": "MNIST test image 1, against the default black baseline",
            "value": {"examples": [{"dataset": "mnist-test", "index": 1}]},
        },
        "baseline": {
            "summary": "Why a '2' and not the '1' it starts from: image 2 as the baseline",
            "value": {
                "examples": [{"dataset": "mnist-test", "index": 1}],
                "baseline": {"dataset": "mnist-test", "index": 2},
            },
        },
        "xor": {"summary": "One XOR point", "value": {"instances": [[0.9, 0.1]]}},
    },
)
EXPLAIN_BODY["requestBody"]["content"]["multipart/form-data"] = _form(
    files=_files("PNG or JPEG images to explain."),
    baseline=_binary("An image to use as the baseline."),
)
EXPLAIN_BODY["requestBody"]["content"]["application/x-npy"] = INSTANCES_BODY["requestBody"][
    "content"
]["application/x-npy"]

NEIGHBORS_BODY = _json_body(
    body_schema(InputsRequest),
    {
        "example": {
            "summary": "The training images nearest MNIST test image 1",
            "value": {"examples": [{"dataset": "mnist-test", "index": 1}]},
        },
        "xor": {"summary": "One XOR point", "value": {"instances": [[0.9, 0.1]]}},
    },
)
NEIGHBORS_BODY["requestBody"]["content"].update(
    {key: INSTANCES_BODY["requestBody"]["content"][key] for key in _NON_JSON}
)

PROJECT_BODY = _json_body(
    body_schema(InputsRequest),
    {
        "example": {
            "summary": "MNIST test image 1, where its point on the map is",
            "value": {"examples": [{"dataset": "mnist-test", "index": 1}]},
        },
        "xor": {"summary": "Two XOR points", "value": {"instances": [[0.9, 0.1], [0, 0]]}},
    },
)
PROJECT_BODY["requestBody"]["content"].update(
    {key: INSTANCES_BODY["requestBody"]["content"][key] for key in _NON_JSON}
)
