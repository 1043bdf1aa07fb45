"""The map-fitting benchmark fits what the trainer fits, and only reads the repository."""

from __future__ import annotations

from pathlib import Path

from benchmarks.map_fits import fit_model
from core.manifest import MANIFEST_FILE, Manifest, map_paths


def _files(version_dir: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(version_dir)): p.read_bytes()
        for p in sorted(version_dir.rglob("*"))
        if p.is_file() and p.suffix in {".json", ".npy"}
    }


def test_a_version_is_refitted_in_scratch_as_the_trainer_fitted_it(
    model_repository, tmp_path
) -> None:
    # xor's test split (160 rows) is under every profile's cap: the trainer's map and the
    # benchmark's are of the same rows with the same seed and setting.
    source = model_repository.models_dir / "xor" / "1"
    before = _files(source)
    row = fit_model(source, tmp_path / "xor")
    assert _files(source) == before
    stored = Manifest.read(source)
    refitted = Manifest.read(tmp_path / "xor")
    assert [m["method"] for m in row["maps"]] == [r.method for r in stored.maps] == ["tsne"]
    (old,), (new,) = stored.maps, refitted.maps
    assert (new.points, new.sha256, new.rows_sha256) == (old.points, old.sha256, old.rows_sha256)
    coords, _rows = map_paths(tmp_path / "xor", "tsne", new.dataset, "embedding")
    assert coords.is_file() and (tmp_path / "xor" / MANIFEST_FILE).is_file()
    assert [c["method"] for c in row["clusters"]] == ["tsne", "pca"]
    assert float(row["cpu_seconds"]) > 0
