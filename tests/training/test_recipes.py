"""Recipes and input contracts: each stated once, and the networks built from them."""

from __future__ import annotations

import numpy as np
import pytest

from core.manifest import InputSpec
from training.inputs import INPUTS, scale_factor
from training.networks import cnn, to_model
from training.recipes import CATALOG


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_network_takes_its_contracts_shape_and_scales_as_it_says(name: str) -> None:
    """Inputs at the top of the contract's range reach the first layer after ``scale`` as
    1.0: the manifest's ``scaling`` is what the network does."""
    spec = CATALOG[name]
    network = spec.network()
    contract = spec.task.input
    assert network.input_shape == contract.shape
    names = [layer.name for layer in network.chain]
    assert ("scale" in names) == (contract.scaling != "none")
    if "scale" in names:
        top = np.full((1, *contract.shape), contract.value_range[1], np.float32)
        scaled = network.chain[names.index("scale")](top)
        np.testing.assert_allclose(np.asarray(scaled), 1.0, rtol=1e-6)
    model = to_model(network, name)
    assert model.output_shape == (None, len(spec.task.class_names))


def test_a_scaling_no_network_implements_is_refused() -> None:
    odd = InputSpec(kind="image", shape=(8, 8), value_range=(0, 16), scaling="x / 255")
    with pytest.raises(ValueError, match="x / 255"):
        scale_factor(odd)
    assert scale_factor(INPUTS["xor"]) is None
    assert scale_factor(INPUTS["sklearn-digits"]) == 1 / 16


def test_every_recipe_is_keyword_only() -> None:
    spec = CATALOG["digits"]
    with pytest.raises(TypeError):
        type(spec)("digits", spec.task)  # type: ignore[misc]


def test_robustness_floors_name_held_out_sets_of_digits_models() -> None:
    from core.datasets import ROBUSTNESS_SETS
    from training.robustness import applies_to

    with_floors = [s for s in CATALOG.values() if s.robustness_floors]
    assert with_floors
    for spec in with_floors:
        assert applies_to(spec), spec.name
        assert {name for name, _ in spec.robustness_floors} <= set(ROBUSTNESS_SETS)


def test_cnn_blocks_number_their_convs_through_and_need_a_count_per_block() -> None:
    network = cnn(INPUTS["mnist"], 10, filters=(32, 64), convs=(1, 2), block_dropout=0.25)
    names = [layer.name for layer in network.chain]
    assert [n for n in names if n.startswith(("conv", "pool"))] == [
        "conv1", "pool1", "conv2", "conv3", "pool2"
    ]  # fmt: skip
    assert names.index("block_dropout2") == names.index("pool2") + 1
    with pytest.raises(ValueError, match="one count per block"):
        cnn(INPUTS["mnist"], 10, filters=(32, 64), convs=(2,))
