"""Turning what a caller has (paths, bytes, PIL images, numpy arrays, nested lists, dataset
references) into what the API takes. Images travel as files, so the server fits them to the
model exactly as it fitted the training data; numbers travel as JSON instances."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
from PIL import Image

from clients.errors import InputError

DATASET_REF_PATTERN = r"^(?P<dataset>[a-z0-9][a-z0-9-]*-(?:train|validation|test)):(?P<index>\d+)$"
_DATASET_REF_RE = re.compile(DATASET_REF_PATTERN)
_CONTENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}

#: How the server fits an uploaded image of another size to the model's input (``auto``: as
#: the training data was made). The service holds the same list; a test keeps them equal.
Fit = Literal["auto", "none", "mnist-centre", "pad-resize"]
FIT_VALUES: tuple[str, ...] = get_args(Fit)
#: The range JSON numbers are in: the model's own (``raw``) or [0, 1] (``unit``).
Scale = Literal["raw", "unit"]
SCALE_VALUES: tuple[str, ...] = get_args(Scale)


@dataclass(frozen=True)
class DatasetRef:
    """One example of a dataset the server holds: ``DatasetRef("mnist-test", 1)``."""

    dataset: str
    index: int

    @classmethod
    def parse(cls, text: str) -> DatasetRef | None:
        """``"mnist-test:1"`` -> DatasetRef; anything else -> None."""
        match = _DATASET_REF_RE.match(text.strip())
        return cls(match["dataset"], int(match["index"])) if match else None

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "index": self.index}

    def __str__(self) -> str:
        return f"{self.dataset}:{self.index}"


@dataclass(frozen=True)
class ImageFile:
    """An encoded image on its way to the server as a multipart file."""

    filename: str
    content: bytes
    content_type: str

    def part(self, field: str) -> tuple[str, tuple[str, bytes, str]]:
        return field, (self.filename, self.content, self.content_type)


Input = str | PathLike[str] | bytes | Image.Image | DatasetRef | np.ndarray | list[Any]
Item = ImageFile | DatasetRef | np.ndarray


def _sniff(content: bytes) -> str:
    if content.startswith(b"\x89PNG"):
        return "image/png"
    if content.startswith(b"\xff\xd8"):
        return "image/jpeg"
    return "application/octet-stream"


def _image_from_path(path: Path) -> ImageFile:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read image file {str(path)!r}: {exc.strerror or exc}") from exc
    content_type = _CONTENT_TYPES.get(path.suffix.lower()) or _sniff(content)
    return ImageFile(path.name, content, content_type)


def _image_from_pil(image: Image.Image, name: str) -> ImageFile:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return ImageFile(f"{name}.png", buffer.getvalue(), "image/png")


def _numeric(value: Any) -> np.ndarray | None:
    """The value as a float array if it is numbers (array or rectangular nested list)."""
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, list | tuple):
        try:
            array = np.asarray(value)
        except ValueError:
            return None
    else:
        return None
    if array.dtype.kind not in "biuf" or array.size == 0:
        return None
    return array.astype(np.float32)


def to_item(value: Any, position: int = 0) -> Item:
    """One input -> a file to upload, a dataset reference or an array of numbers."""
    if isinstance(value, DatasetRef | ImageFile):
        return value
    if isinstance(value, Image.Image):
        return _image_from_pil(value, f"image-{position}")
    if isinstance(value, bytes | bytearray):
        content = bytes(value)
        return ImageFile(f"image-{position}", content, _sniff(content))
    if isinstance(value, str | PathLike):
        text = str(value)
        ref = DatasetRef.parse(text) if isinstance(value, str) else None
        if ref is not None and not Path(text).exists():
            return ref
        return _image_from_path(Path(text))
    array = _numeric(value)
    if array is None:
        raise InputError(
            f"input {position} is a {type(value).__name__}; expected an image path, bytes, "
            "a PIL image, a dataset reference like 'mnist-test:1', or numbers"
        )
    return array


def to_items(inputs: Any) -> list[Item]:
    """A single input or a sequence of them. A rectangular list of numbers is one array
    (which may hold several instances), not a sequence of inputs."""
    if isinstance(inputs, list | tuple):
        if not inputs:
            raise InputError("no inputs given")
        array = _numeric(inputs)
        if array is not None:
            return [array]
        return [to_item(value, i) for i, value in enumerate(inputs)]
    return [to_item(inputs)]


def as_instances(array: np.ndarray, shape: tuple[int, ...], position: int = 0) -> np.ndarray:
    """Numbers -> a batch ``(N, *shape)``: one flat or shaped instance, or several."""
    size = int(np.prod(shape))
    if size == 0 or array.size == 0 or array.size % size:
        raise InputError(
            f"input {position} has shape {tuple(array.shape)} ({array.size} values); the model "
            f"takes instances of shape {tuple(shape)} ({size} values each)"
        )
    return array.reshape(-1, *shape)
