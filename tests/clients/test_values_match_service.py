"""The SDK and the CLI offer exactly the ``fit`` and ``scale`` values the service accepts.
The clients package cannot import the service (it ships without it), so each side defines
its list once and this test holds them equal."""

from __future__ import annotations

import importlib
from typing import Any, get_args

import pytest

from clients.inputs import FIT_VALUES, SCALE_VALUES

#: Where the service has kept each list, newest first: the names it may go by there.
SERVICE_HOMES = ("service.routes.inference", "service.codecs")
SERVICE_NAMES = {
    "fit": ("FitValue", "Fit", "FIT_VALUES", "FITS"),
    "scale": ("ScaleValue", "Scale", "SCALE_VALUES", "SCALES"),
}


def _as_values(found: Any) -> tuple[str, ...]:
    """A ``Literal`` type's arguments, or a tuple of strings as it is."""
    return tuple(get_args(found)) or tuple(found)


def service_values(option: str) -> tuple[str, ...]:
    for home in SERVICE_HOMES:
        module = importlib.import_module(home)
        for name in SERVICE_NAMES[option]:
            if hasattr(module, name):
                return _as_values(getattr(module, name))
    raise AssertionError(f"the service's {option} values are in none of {SERVICE_HOMES}")


@pytest.mark.parametrize(("option", "ours"), [("fit", FIT_VALUES), ("scale", SCALE_VALUES)])
def test_client_values_are_the_services(option: str, ours: tuple[str, ...]) -> None:
    assert sorted(ours) == sorted(service_values(option))
