"""Indexes of the layers a recipe opts in (``neighbor_layers``): built with the embedding's,
added to older versions once, refused above the size cap."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from core import datasets
from core.manifest import NEIGHBORS_DIR, Manifest, NeighborIndexRecord, neighbor_index_paths
from tests.fixtures.models import ModelRepository
from tests.service.helpers import copy_versions
from tests.training.helpers import rerun
from training import neighbors, pipeline
from training.recipes import get_spec


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_an_opted_in_layer_is_indexed_for_both_splits(model_repository: ModelRepository) -> None:
    version_dir = model_repository.models_dir / "digits-cnn" / "1"
    manifest = Manifest.read(version_dir)
    dense1 = next(s for s in manifest.layers if s.name == "dense1")
    for split in neighbors.INDEXED_SPLITS:
        ref = f"mnist-{split}"
        record = manifest.neighbor_index(ref, "dense1")
        assert record is not None and record.layer == "dense1"
        vectors_path, labels_path = neighbor_index_paths(version_dir, ref, "dense1")
        assert vectors_path.name == f"{ref}.dense1.npy"
        assert hashlib.sha256(vectors_path.read_bytes()).hexdigest() == record.sha256
        assert hashlib.sha256(labels_path.read_bytes()).hexdigest() == record.labels_sha256
        assert record.size_bytes == vectors_path.stat().st_size
        rows = len(datasets.load_split("mnist", split, model_repository.data_dir).y)
        assert np.load(vectors_path, mmap_mode="r").shape == (rows, *dense1.output_shape)
        # the embedding's index keeps its name and is still the default
        embedding = manifest.neighbor_index(ref)
        assert embedding is not None and embedding.layer == "embedding"
        assert neighbor_index_paths(version_dir, ref)[0].name == f"{ref}.npy"


def test_an_older_version_gains_the_layer_once(
    model_repository: ModelRepository, tmp_path: Path, engine: Engine
) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"xor": [1]})
    version_dir = models_dir / "xor" / "1"
    before = Manifest.read(version_dir)
    spec = dataclasses.replace(get_spec("xor"), neighbor_layers=("logits",))
    data_dir = model_repository.data_dir

    def run() -> pipeline.Outcome:
        return rerun(spec, models_dir, engine, data_dir)

    assert run().status == "skipped"
    after_first = _tree(version_dir)
    assert run().status == "skipped"
    updated = Manifest.read(version_dir)
    added = [r for r in updated.neighbor_indexes if r not in before.neighbor_indexes]
    assert {(r.dataset, r.layer, r.width) for r in added} == {
        ("xor-train", "logits", 2),
        ("xor-test", "logits", 2),
    }
    assert updated.model_copy(update={"neighbor_indexes": before.neighbor_indexes}) == before
    assert _tree(version_dir) == after_first  # the second run added nothing


def test_a_layer_above_the_cap_is_refused_before_anything_is_computed(
    model_repository: ModelRepository, tmp_path: Path
) -> None:
    models = copy_versions(model_repository.models_dir, tmp_path / "models", {"digits-cnn": [1]})
    version_dir = models / "digits-cnn" / "1"
    before = _tree(version_dir)
    data = datasets.load_dataset("mnist", model_repository.data_dir)
    with pytest.raises(neighbors.IndexTooLarge) as refused:
        neighbors.add_indexes(version_dir, data, relabel=lambda y: y, layers=("conv1",))
    message = str(refused.value)
    rows = len(data.train.y)
    assert "conv1" in message and f"{neighbors.MAX_INDEX_BYTES:,} bytes" in message
    assert f"{rows * 28 * 28 * 32 * 4:,} bytes" in message
    assert _tree(version_dir) == before and (version_dir / NEIGHBORS_DIR).is_dir()
    with pytest.raises(ValueError, match="no layer 'nope'"):
        neighbors.add_indexes(version_dir, data, relabel=lambda y: y, layers=("nope",))


def test_a_record_written_before_layers_were_optional_reads_the_same() -> None:
    old = {"dataset": "mnist-test", "rows": 3, "width": 2, "sha256": "0" * 64,
           "labels_sha256": "1" * 64}  # fmt: skip
    record = NeighborIndexRecord.model_validate(old)
    assert (record.layer, record.size_bytes) == ("embedding", None)
    with pytest.raises(ValidationError):
        NeighborIndexRecord.model_validate({**old, "layer": "../escape"})
