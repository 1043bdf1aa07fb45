"""The SDK and the CLI offer exactly the ``fit`` and ``scale`` values the service accepts.
The clients package cannot import the service (it ships without it), so each side defines
its list once (the SDK in ``clients.inputs``, the service in ``service.codecs``) and this
test holds them equal."""

from __future__ import annotations

from clients.inputs import FIT_VALUES, SCALE_VALUES
from service.codecs import FITS, SCALES


def test_fit_values_are_the_services() -> None:
    assert sorted(FIT_VALUES) == sorted(FITS)


def test_scale_values_are_the_services() -> None:
    assert sorted(SCALE_VALUES) == sorted(SCALES)
