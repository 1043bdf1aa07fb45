"""The options of ``:explain`` (query parameters), checked once against the model and limits."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.manifest import Manifest
from service.errors import InvalidInput, PayloadTooLarge, UnknownLayer
from service.features.explain.baselines import BaselineName
from service.features.explain.methods import Rule, occlusion_rows, path_rows
from service.runtime.gradients import Target

Method = Literal["integrated-gradients", "saliency", "smoothgrad", "occlusion"]
#: Methods that compare the input with a baseline.
BASELINE_METHODS = frozenset({"integrated-gradients", "occlusion"})


#: Largest occlusion patch and stride, and smoothgrad noise share, accepted.
MAX_PATCH = 64
MAX_NOISE = 10.0


class ExplainOptions(BaseModel):
    """What to explain and how: ``:explain``'s query parameters and the V2 ``attributions``
    output's request parameters (one model, so both doors take the same names and bounds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Method = Field("integrated-gradients", description="The attribution method.")
    target: str | None = Field(
        None, max_length=64, description="Class index or name; default the predicted class."
    )
    output: Target = Field(
        "probability", description="Attribute the target's probability or its logit."
    )
    layer: str | None = Field(
        None,
        max_length=128,
        description="integrated-gradients: attribute to this layer's units instead of the "
        "input: the embedding, or any probe-able layer whose tail the version ships (a 400 "
        "names the layers accepted).",
    )
    baseline: BaselineName = Field(
        "black", description="integrated-gradients / occlusion: the baseline."
    )
    steps: int = Field(50, ge=1, description="integrated-gradients: steps along the path.")
    rule: Rule = Field(
        "adaptive",
        description="integrated-gradients: where the path's points go: 'adaptive' (bisect "
        "where the trapezoid misses f's change), 'trapezoid' (uniform, a pixel sweep's "
        "alphas) or 'gauss-legendre'.",
    )
    samples: int = Field(25, ge=1, description="smoothgrad: noisy copies.")
    noise: float = Field(
        0.15, ge=0, le=MAX_NOISE,
        description="smoothgrad: the noise's std as a share of the input's value range.",
    )  # fmt: skip
    seed: int = Field(0, ge=0, le=2**32 - 1, description="smoothgrad / noise baseline seed.")
    patch: int = Field(4, ge=1, le=MAX_PATCH, description="occlusion: the patch's side.")
    stride: int = Field(2, ge=1, le=MAX_PATCH, description="occlusion: the patch's step.")

    def check(
        self, manifest: Manifest, *, max_steps: int, tail_layers: tuple[str, ...] = ()
    ) -> None:
        """400 for options this model or method cannot take; 413 for too many steps.
        ``tail_layers``: the layers whose tails the version loaded (besides the embedding)."""
        if self.layer is not None:
            if self.method != "integrated-gradients":
                raise InvalidInput(f"layer= is for integrated-gradients, not {self.method}")
            _check_layer(self.layer, manifest, tail_layers)
        if self.baseline == "blur" and manifest.input.kind != "image":
            raise InvalidInput(
                f"the blur baseline needs an image model; {manifest.name!r} takes vectors"
            )
        if self.method == "integrated-gradients" and self.steps > max_steps:
            raise PayloadTooLarge(f"steps is {self.steps}; at most {max_steps} per request")
        if self.method == "smoothgrad" and self.samples > max_steps:
            raise PayloadTooLarge(f"samples is {self.samples}; at most {max_steps} per request")

    def check_baseline_input(self) -> None:
        if self.method not in BASELINE_METHODS:
            raise InvalidInput(
                f"a baseline input is for integrated-gradients or occlusion, not {self.method}"
            )

    def rows_per_input(self, manifest: Manifest) -> int:
        """Model rows one input costs (the bound ``max_explain_rows`` is checked against)."""
        if self.method == "integrated-gradients":
            return path_rows(self.steps, self.rule)
        if self.method == "smoothgrad":
            return self.samples
        if self.method == "occlusion":
            return occlusion_rows(manifest.input.shape, self.patch, self.stride)
        return 1

    def class_index(self, manifest: Manifest) -> int | None:
        """The target as a class index; 400 naming the classes when it is neither."""
        if self.target is None:
            return None
        names = manifest.class_names
        if self.target in names:
            return names.index(self.target)
        try:
            index = int(self.target)
        except ValueError:
            index = -1
        if not 0 <= index < len(names):
            raise InvalidInput(
                f"target {self.target!r} is not a class of {manifest.name!r}: give an index "
                f"0..{len(names) - 1} or one of {', '.join(names)}"
            )
        return index


def accepted_layers(manifest: Manifest, tail_layers: tuple[str, ...]) -> tuple[str, ...]:
    """What ``layer=`` takes, in the manifest's order: the embedding (through ``head``) and
    every layer with a loaded tail."""
    accepted = {manifest.embedding_layer, *tail_layers}
    return tuple(layer.name for layer in manifest.layers if layer.name in accepted)


def _check_layer(layer: str, manifest: Manifest, tail_layers: tuple[str, ...]) -> None:
    accepted = accepted_layers(manifest, tail_layers)
    if layer in accepted:
        return
    listed = ", ".join(accepted)
    if manifest.layer(layer) is None:
        raise UnknownLayer(
            f"layer {layer!r} is not a layer of {manifest.name!r}; layers accepted: {listed}"
        )
    raise UnknownLayer(
        f"layer {layer!r} of {manifest.name!r} v{manifest.version} has no attribution tail "
        f"(the version has no tails/ or it failed its checksum at load); layers accepted: "
        f"{listed}"
    )


def check_rows(n_inputs: int, per_input: int, *, max_rows: int) -> None:
    total = n_inputs * per_input
    if total > max_rows:
        raise PayloadTooLarge(
            f"this explanation costs {total} model rows ({n_inputs} input(s) x {per_input}); "
            f"at most {max_rows} per request: send fewer inputs, steps or samples, or a "
            "larger stride"
        )
