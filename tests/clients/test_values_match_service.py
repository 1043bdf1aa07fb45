"""The SDK and the CLI offer exactly the ``fit`` and ``scale`` values the service accepts.
The clients package cannot import the service (it ships without it), so each side defines
its list once (the SDK in ``clients.inputs``, the service in ``service.codecs``) and this
test holds them equal."""

from __future__ import annotations

from clients.inputs import FIT_VALUES, SCALE_VALUES
from clients.ops.explain import BASELINE_VALUES, METHOD_VALUES, OUTPUT_VALUES, RULE_VALUES
from clients.ops.neighbors import METRIC_VALUES, NEIGHBOR_SPACE_VALUES
from service.codecs import FITS, SCALES


def test_fit_values_are_the_services() -> None:
    assert sorted(FIT_VALUES) == sorted(FITS)


def test_scale_values_are_the_services() -> None:
    assert sorted(SCALE_VALUES) == sorted(SCALES)


def test_explain_values_are_the_services() -> None:
    """``method``, ``output``, ``rule`` and the named baselines of ``:explain`` (imported here:
    the other checks need not wait for the service's explain package)."""
    from typing import get_args

    from service.features.explain.baselines import BaselineName
    from service.features.explain.methods import Rule
    from service.features.explain.options import Method
    from service.runtime.gradients import Target

    assert sorted(METHOD_VALUES) == sorted(get_args(Method))
    assert sorted(OUTPUT_VALUES) == sorted(get_args(Target))
    assert sorted(RULE_VALUES) == sorted(get_args(Rule))
    assert sorted(BASELINE_VALUES) == sorted(get_args(BaselineName))


def test_neighbor_values_are_the_services() -> None:
    """``space`` and ``metric`` of ``:neighbors``, read from the service's query model (where
    its ``Metric`` type is defined may move; the accepted values are what counts)."""
    from typing import get_args

    from service.features.neighbors.options import NeighborOptions

    fields = NeighborOptions.model_fields
    assert sorted(NEIGHBOR_SPACE_VALUES) == sorted(get_args(fields["space"].annotation))
    assert sorted(METRIC_VALUES) == sorted(get_args(fields["metric"].annotation))
