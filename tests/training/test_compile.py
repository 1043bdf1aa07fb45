"""Adding LiteRT copies to a repository exported without them (`layerlens-train compile`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.manifest import LITERT_FILE, MANIFEST_FILE, Manifest
from tests.fixtures.models import ModelRepository
from tests.service.helpers import copy_versions
from training import compile as compile_module
from training.cli import app


def _strip_copy(version_dir: Path) -> Manifest:
    """Make the version look like one exported before LiteRT copies existed."""
    (version_dir / LITERT_FILE).unlink()
    bare = Manifest.read(version_dir).model_copy(update={"compiled": None})
    bare.write(version_dir)
    return bare


@pytest.fixture
def bare_xor(model_repository: ModelRepository, tmp_path: Path) -> Path:
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"xor": [1]})
    _strip_copy(models_dir / "xor" / "1")
    return models_dir


def test_compile_adds_the_copy_and_its_record_then_leaves_it_alone(bare_xor: Path) -> None:
    version_dir = bare_xor / "xor" / "1"
    result = CliRunner().invoke(app, ["compile", "--models-dir", str(bare_xor)])
    assert result.exit_code == 0, result.output
    manifest = Manifest.read(version_dir)
    assert manifest.compiled is not None
    assert (version_dir / LITERT_FILE).is_file()
    assert manifest.compiled.max_abs_diff < 1e-4

    before = (version_dir / MANIFEST_FILE).read_bytes()
    again = CliRunner().invoke(app, ["compile", "--models-dir", str(bare_xor)])
    assert again.exit_code == 0, again.output
    assert (version_dir / MANIFEST_FILE).read_bytes() == before


def test_a_failed_conversion_changes_nothing_and_fails_the_command(
    bare_xor: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise ValueError("predict at batch 1: probabilities differs by up to 0.5")

    monkeypatch.setattr(compile_module, "compile_litert", refuse)
    version_dir = bare_xor / "xor" / "1"
    before = (version_dir / MANIFEST_FILE).read_bytes()
    result = CliRunner().invoke(app, ["compile", "--models-dir", str(bare_xor)])
    assert result.exit_code == 1
    assert "could not be compiled" in result.output
    assert (version_dir / MANIFEST_FILE).read_bytes() == before
    assert not (version_dir / LITERT_FILE).exists()
