"""Fixtures of the service tests (plain helper functions live in tests/service/helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest


@pytest.fixture(scope="session")
def http(live_server: Any) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client
