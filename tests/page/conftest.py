"""A real browser (Debian's chromium, driven by Playwright) on the shared live server.

Playwright's own browser download cannot be reached on these machines, so the browser is
the system's ``chromium`` (``scripts/system-deps.sh`` installs it). Without it these tests
skip locally and fail under ``CI=true``: CI must never pass by not running them.
Every page a test opens aborts and records any request that leaves the service's origin,
and records console errors; both lists must be empty when the test ends.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from benchmarks.page import CHROMIUM_ARGS
from tests.fixtures.server import LiveServer

CHROMIUM_NAMES = ("chromium", "chromium-browser")
IMAGES_DIR = Path(__file__).resolve().parents[2] / "docs" / "images"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One browser per test module, stopped when the module ends.

    Playwright's sync API keeps an asyncio loop running in the main thread while it is
    open; session scope left it running under every later test, and each later
    ``asyncio.run`` failed with "cannot be called from a running event loop". (Package
    scope is no better here: tests/page is a plain directory, so "package" means tests/.)
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    executable = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if executable is None:
        _unavailable("no chromium: run scripts/system-deps.sh as root (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Watch:
    """What a page did that it must not: leave the origin, log console errors."""

    origin: str
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def check(self) -> None:
        assert not self.foreign, f"requests left the origin: {self.foreign}"
        assert not self.errors, f"console errors: {self.errors}"


def open_page(browser: Any, server: LiveServer, **context: Any) -> tuple[Any, Any, Watch]:
    """A new page whose every request is checked against the server's origin."""
    # Playwright evaluates string predicates (wait_for_function) in the page, which the
    # page's Content-Security-Policy forbids; tests/page/test_csp.py checks the page
    # under its policy, with nothing bypassed.
    options = {"viewport": {"width": 1280, "height": 900}, "bypass_csp": True, **context}
    ctx = browser.new_context(**options)
    page = ctx.new_page()
    watch = Watch(origin=server.url)

    def guard(route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in {"data", "blob"} or f"{parts.scheme}://{parts.netloc}" == watch.origin:
            route.continue_()
        else:
            watch.foreign.append(url)
            route.abort()

    page.route("**/*", guard)
    page.on("console", lambda m: m.type == "error" and watch.errors.append(m.text))
    page.on("pageerror", lambda e: watch.errors.append(str(e)))
    page.on(
        "response",
        lambda r: r.status >= 400 and watch.errors.append(f"{r.status} {r.request.method} {r.url}"),
    )
    return ctx, page, watch


@pytest.fixture
def lens(browser: Any, live_server: LiveServer) -> Iterator[tuple[Any, Watch]]:
    """A desktop-width page on the live server; checked for foreign requests and errors."""
    ctx, page, watch = open_page(browser, live_server)
    yield page, watch
    ctx.close()
    watch.check()


@pytest.fixture(scope="session")
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client
