"""The trainer's status file: atomic, refreshed, removed on the way out, ignored when stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.manifest import versions_on_disk
from core.training_status import (
    STALE_AFTER_S,
    STATUS_FILE,
    StatusWriter,
    TrainingStatus,
    read_status,
    write_status,
)


def test_the_writer_lists_what_is_left_and_removes_the_file_at_the_end(tmp_path: Path) -> None:
    with StatusWriter(tmp_path, ["digits-wide", "digits-cnn"]) as status:
        seen = read_status(tmp_path)
        assert seen is not None and seen.pending == ["digits-wide", "digits-cnn"]
        status.done("digits-wide")
        assert read_status(tmp_path).pending == ["digits-cnn"]  # type: ignore[union-attr]
        status.done("digits-cnn")
        assert read_status(tmp_path) is None and not (tmp_path / STATUS_FILE).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no temporary file left


def test_an_interrupted_trainer_leaves_no_status(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), StatusWriter(tmp_path, ["fashion-cnn"]):
        assert read_status(tmp_path) is not None
        raise KeyboardInterrupt
    assert not (tmp_path / STATUS_FILE).exists()


def test_nothing_to_train_writes_nothing(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    with StatusWriter(models_dir, []):
        assert not models_dir.exists()


def test_a_stale_or_broken_file_means_nothing_is_training(tmp_path: Path) -> None:
    long_ago = datetime.now(UTC) - timedelta(seconds=STALE_AFTER_S + 5)
    write_status(
        tmp_path, TrainingStatus(pending=["xor"], started_at=long_ago, updated_at=long_ago)
    )
    assert read_status(tmp_path) is None  # its trainer was killed outright
    assert read_status(tmp_path, now=long_ago + timedelta(seconds=1)) is not None
    (tmp_path / STATUS_FILE).write_text("{not json")
    assert read_status(tmp_path) is None
    (tmp_path / STATUS_FILE).write_text('{"pending": "xor"}')
    assert read_status(tmp_path) is None


def test_the_status_file_is_never_taken_for_a_model(tmp_path: Path) -> None:
    with StatusWriter(tmp_path, ["xor"]):
        assert versions_on_disk(tmp_path) == {}
