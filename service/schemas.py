"""Request bodies of the /v1 routes that carry more than a batch of instances.

These models validate the parsed JSON (or multipart form fields) and document the
routes in OpenAPI.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExampleRef(_Strict):
    """One example of a local dataset, e.g. ``{"dataset": "mnist-test", "index": 1}``."""

    dataset: str = Field(examples=["mnist-test"])
    index: int = Field(ge=0, examples=[1])


class InlineInstance(_Strict):
    """One instance in the model's input shape and value range."""

    instance: Any


class AlphaRange(_Strict):
    start: float = 0.0
    stop: float = 1.0
    num: int = Field(11, ge=1, description="Number of alphas, start and stop included.")


class InterpolateRequest(_Strict):
    a: ExampleRef | InlineInstance | None = Field(
        None, description="Input at alpha = 1 (or upload a file named 'a')."
    )
    b: ExampleRef | InlineInstance | None = Field(
        None, description="Input at alpha = 0 (or upload a file named 'b')."
    )
    space: Literal["pixel", "embedding"] = "pixel"
    alphas: AlphaRange | list[float] = Field(default_factory=AlphaRange)
    layer: str | None = Field(
        None, description="Embedding space only: the layer mixed (the model's embedding layer)."
    )
    ood: bool = Field(False, description="Add each step's out-of-distribution verdict ('ood').")
    ood_method: str | None = Field(
        None, description="The verdict's method: knn, mahalanobis, energy, msp (implies ood)."
    )


class InputsRequest(_Strict):
    """A JSON body of instances or of dataset examples (``:neighbors``)."""

    instances: list[Any] | None = Field(
        None, description="Instances in the model's input shape and value range."
    )
    examples: list[ExampleRef] | None = Field(
        None, description="Dataset examples, e.g. [{'dataset': 'mnist-test', 'index': 1}]."
    )


class ExplainRequest(InputsRequest):
    """The JSON body of ``:explain``: instances or dataset examples, and an optional baseline."""

    baseline: ExampleRef | InlineInstance | None = Field(
        None,
        description="The path's start (integrated gradients) or the occluding values; "
        "replaces the 'baseline' query parameter.",
    )


class HeadRequest(_Strict):
    embeddings: list[Any] = Field(description="A batch of embedding-layer vectors.")


class ErrorBody(BaseModel):
    """Every error answer: what is wrong, in words, and a machine code (service.errors)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"error": "model 'nope' is not loaded", "code": "model_not_found"}]
        }
    )

    error: str = Field(description="What is wrong, naming the offending input.")
    code: str = Field(description="A stable machine code, e.g. invalid_input, model_not_found.")
