"""Fixtures of the client tests."""

from __future__ import annotations

import pytest

from tests.clients.fake_digits import FakeDigitsService


@pytest.fixture
def mocked_cli(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> FakeDigitsService:
    """`layerlens` with its client answered by the test module's ``FakeService`` (a
    ``FakeDigitsService`` answering the command under test)."""
    service = request.module.FakeService()
    service.answer_the_cli(monkeypatch)
    return service
