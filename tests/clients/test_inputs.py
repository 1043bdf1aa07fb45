"""How the SDK reads what a caller hands it (no server needed: pure functions)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clients import DatasetRef, InputError
from clients.inputs import ImageFile, as_instances, to_items


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (28, 28), 128).save(buffer, format="PNG")
    return buffer.getvalue()


def test_dataset_references_parse_and_print() -> None:
    assert DatasetRef.parse("mnist-test:1") == DatasetRef("mnist-test", 1)
    assert DatasetRef.parse("fashion-mnist-validation:42") == DatasetRef(
        "fashion-mnist-validation", 42
    )
    assert DatasetRef.parse("mnist:1") is None  # no split
    assert DatasetRef.parse("picture.png") is None
    assert str(DatasetRef("mnist-test", 3)) == "mnist-test:3"


def test_an_existing_file_wins_over_a_dataset_reference(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("mnist-test:1").write_bytes(png_bytes())
    (item,) = to_items("mnist-test:1")
    assert isinstance(item, ImageFile) and item.content_type == "image/png"


def test_numbers_are_one_array_and_mixed_lists_are_items() -> None:
    (array,) = to_items([[0, 1], [1, 1]])
    assert isinstance(array, np.ndarray) and array.shape == (2, 2)
    image = Image.new("RGB", (40, 30))
    items = to_items(["mnist-test:1", png_bytes(), image, np.zeros((28, 28))])
    kinds = [type(i).__name__ for i in items]
    assert kinds == ["DatasetRef", "ImageFile", "ImageFile", "ndarray"]
    assert items[2].content_type == "image/png"


def test_arrays_split_into_instances_by_the_model_shape() -> None:
    assert as_instances(np.zeros(784), (28, 28)).shape == (1, 28, 28)
    assert as_instances(np.zeros((5, 784)), (28, 28)).shape == (5, 28, 28)
    assert as_instances(np.zeros((3, 2)), (2,)).shape == (3, 2)
    with pytest.raises(InputError, match=r"shape \(100,\)"):
        as_instances(np.zeros(100), (28, 28))


def test_unusable_inputs_are_named() -> None:
    with pytest.raises(InputError, match="no inputs"):
        to_items([])
    with pytest.raises(InputError, match="input 1 is a dict"):
        to_items(["mnist-test:1", {"x": 1}])
