"""An earlier commit of layerlens as a server: the "today" a speed-up is measured against.

``git archive REV`` is unpacked into a temporary folder and started with the same command,
settings and model repository as the current checkout, so the two differ only in code.
Used by ``benchmarks.ab`` (alternating rounds) and ``benchmarks.run --baseline REV`` (the
why-answer rows, whose targets are ratios to today's rate).
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from pathlib import Path

from benchmarks.scenarios import BASELINE
from benchmarks.servers import ServerSpec


def export(rev: str, into: Path) -> Path:
    """The tree of commit ``rev`` as files (no .git), to run from."""
    archive = subprocess.run(["git", "archive", rev], check=True, capture_output=True).stdout
    target = into / "baseline"
    target.mkdir()
    with tempfile.TemporaryFile() as file:
        file.write(archive)
        file.seek(0)
        with tarfile.open(fileobj=file) as tar:
            tar.extractall(target, filter="data")
    return target


def baseline_spec(ours: ServerSpec, tree: Path, *, models_dir: Path | None = None) -> ServerSpec:
    """``ours``, run from the exported ``tree`` (on ``models_dir`` if given: a repository
    whose manifests the older code can read)."""
    env = {**ours.env, "PYTHONPATH": str(tree)}
    if models_dir is not None:
        env["LAYERLENS_MODELS_DIR"] = str(models_dir.resolve())
    return ServerSpec(
        BASELINE,
        ours.command,
        ours.ready_path,
        env=env,
        workers=ours.workers,
        cwd=tree,
    )
