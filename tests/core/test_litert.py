"""core.litert.check_agreement: the one check export and load run on a LiteRT copy."""

from __future__ import annotations

import numpy as np

from core.litert import ATOL, CHECK_BATCHES, check_agreement
from core.manifest import InputSpec

SPEC = InputSpec(kind="vector", shape=(3,), value_range=(-2.0, 2.0), scaling="none")
WEIGHTS = np.arange(6, dtype=np.float32).reshape(3, 2) / 10


def _reference(calls: list[tuple[str, np.ndarray]]) -> dict:
    """A linear stand-in network: embed = x @ W, head = the sum of the embedding,
    predict = head(embed)."""

    def endpoint(name, fn):
        def run(x: np.ndarray) -> dict[str, np.ndarray]:
            calls.append((name, x))
            return fn(x)

        return run

    return {
        "predict": endpoint("predict", lambda x: {"logits": (x @ WEIGHTS).sum(1, keepdims=True)}),
        "embed": endpoint("embed", lambda x: {"embedding": x @ WEIGHTS}),
        "layers": endpoint("layers", lambda x: {"embedding": x @ WEIGHTS}),
        "head": endpoint("head", lambda e: {"logits": e.sum(1, keepdims=True)}),
    }


def test_copies_that_agree_pass_with_their_largest_difference() -> None:
    reference = _reference([])
    off = ATOL / 10
    compiled = {
        "predict": lambda x: {"logits": reference["predict"](x)["logits"] + off},
        "head": reference["head"],
    }
    agreement = check_agreement(reference, compiled, SPEC)
    assert agreement.problems == {}
    assert np.isclose(agreement.max_abs_diff, off, rtol=1e-3)


def test_a_copy_that_differs_is_named_with_the_batch_and_output() -> None:
    reference = _reference([])
    compiled = {
        "embed": lambda x: {"embedding": reference["embed"](x)["embedding"] * 1.01},
        "layers": lambda x: {"other": x},
        "head": reference["head"],
    }
    agreement = check_agreement(reference, compiled, SPEC)
    assert set(agreement.problems) == {"embed", "layers"}
    assert agreement.problems["embed"].startswith(f"at batch {CHECK_BATCHES[0]}: embedding")
    assert "outputs ['other']" in agreement.problems["layers"]
    assert agreement.max_abs_diff == 0.0  # only the head agreed, exactly


def test_every_reference_endpoint_is_called_and_the_head_gets_the_embedding() -> None:
    calls: list[tuple[str, np.ndarray]] = []
    check_agreement(_reference(calls), {}, SPEC, batches=(4,), seed=1)
    by_name = {name: x for name, x in calls}
    assert set(by_name) == {"predict", "embed", "layers", "head"}
    x = by_name["predict"]
    assert x.shape == (4, 3) and x.dtype == np.float32
    assert x.min() >= -2.0 and x.max() <= 2.0
    np.testing.assert_array_equal(by_name["head"], x @ WEIGHTS)
