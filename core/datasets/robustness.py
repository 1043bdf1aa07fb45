"""Held-out robustness sets: handwriting unlike MNIST's own pixels, never fitted on.

Two sets, each ``(x uint8 (N, 28, 28), y uint8 (N,))`` in MNIST's convention (light
strokes on black, the figure fitted to 20 of 28 pixels and centred by mass):

``canvas``
    Digits as a person draws them on the page's 280x280 pad. Source: MNIST *test* digits
    (200 per class, a seeded choice), so the writers are MNIST's held-out ones. Each is
    re-drawn as a pen trajectory: upsampled 4x, skeletonised (scikit-image), and the
    skeleton stroked with a round pen of one width (10-30 px of 280; the page's brush runs
    4-40, default 18) in black on a white 280x280 canvas, at a random height (110-230 px),
    position (anywhere it fits: off-centre), slant (+-15 degrees) and a slow hand wobble,
    drawn at 2x and averaged down as a browser anti-aliases. The picture is PNG-encoded
    and passed through the service's own upload fit (``service.codecs.decode_images``
    with ``fit=auto``, i.e. ``mnist-centre`` for the digits task), exactly as the page's
    upload is. How it differs from training augmentation (``training.augment``): that
    warps MNIST *train* pixels at 28x28 (affine, elastic, dilation/erosion of the existing
    stroke); this set throws the original stroke profile away and keeps only the path, so
    every stroke has the uniform width and round caps of a canvas pen, at a thickness
    relative to the figure that MNIST's scanned pen strokes never have, and the 28x28
    picture is whatever the service's crop-scale-centre makes of a 280x280 PNG.

``writers``
    The 13 writers of UCI's optical-digits *test* part, as scikit-learn bundles it
    (``load_digits``: 1797 digits, all of them; none of these people wrote MNIST). Each
    8x8 picture holds, per cell, how many of 16 pixels of a 4x4 block of the writer's
    32x32 bitmap were ink. It is brought to MNIST's convention the way a user would:
    counts scaled to 0-255, enlarged bicubically to the bitmap's own 32x32, PNG-encoded
    and passed through the same upload fit. No MNIST digits model trains on it (the
    ``sklearn-digits`` models do train on part of it and are not scored on it).

Neither set fits anything: no model, threshold or augmentation choice is tuned on them.
Both are built deterministically from a seed, pinned by the SHA-256 of their arrays, and
cached under ``<data_dir>/robustness/`` (the canvas set takes seconds to draw).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from core.datasets.errors import DatasetCorrupt, UnknownDatasetReference
from core.datasets.facts import idx_specs
from core.datasets.generated import sklearn_digits
from core.datasets.verify import array_sha256, load_verified

ROBUSTNESS_SETS = ("canvas", "writers")
#: The task whose models these sets score (their inputs follow its manifest contract).
ROBUSTNESS_TASK = "digits"
CACHE_SUBDIR = "robustness"
#: Bumped whenever a generator changes: an older cached file is then rebuilt.
GENERATOR_VERSION = 1
DEFAULT_SEED = 0

CANVAS_SIZE = 280
CANVAS_PER_CLASS = 200
SUPERSAMPLE = 2
SKELETON_UPSAMPLE = 4
BRUSH_PX = (10.0, 30.0)
HEIGHT_PX = (110.0, 230.0)
SLANT_DEGREES = 15.0
WOBBLE_PX = 3.0
WRITERS_BITMAP = 32

#: SHA-256 of (x, y) per set (seed 0), measured with Pillow 13.0 and scikit-image 0.26.
PINNED: dict[str, tuple[str, str]] = {
    "canvas": (
        "0df1f2f09de283d574d53e0628a6c74b75f97348a62906a7540c946c8cf6e800",
        "5192e1bfdfde6a3e5bdda6727cd72fca0e2efcb30b13631f56cbbd71a8399019",
    ),
    "writers": (
        "5609d5b2abc74144f5b61059bad4a70010a8a1b9fe6c1a8323f89cb7d5ce0077",
        "8ba4f891220f5e4c9c819638d1602d74b83618f167043c6da52a2a247841ddf0",
    ),
}


@dataclass(frozen=True)
class RobustnessSet:
    name: str
    x: np.ndarray
    y: np.ndarray
    sha256: dict[str, str]

    def __len__(self) -> int:
        return len(self.y)


def check_robustness_name(name: str) -> str:
    if name not in ROBUSTNESS_SETS:
        raise UnknownDatasetReference(
            f"unknown robustness set {name!r}; robustness sets: {', '.join(ROBUSTNESS_SETS)}"
        )
    return name


def load_robustness(
    name: str, data_dir: Path, *, cache_dir: Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(x uint8 (N, 28, 28) light-on-dark, y uint8 (N,)) of a robustness set, verified."""
    found = robustness_set(name, Path(data_dir), cache_dir=cache_dir)
    return found.x, found.y


def robustness_set(name: str, data_dir: Path, *, cache_dir: Path | None = None) -> RobustnessSet:
    check_robustness_name(name)
    cache = Path(cache_dir) if cache_dir is not None else Path(data_dir) / CACHE_SUBDIR
    return _load(name, Path(data_dir).resolve(), cache.resolve())


@lru_cache(maxsize=4)
def _load(name: str, data_dir: Path, cache: Path) -> RobustnessSet:
    path = cache / f"{name}-v{GENERATOR_VERSION}-seed{DEFAULT_SEED}.npz"
    x = y = None
    if path.is_file():
        try:
            with np.load(path) as stored:
                x, y = stored["x"], stored["y"]
        except (OSError, KeyError, ValueError):
            x = y = None  # an unreadable cache is rebuilt, never trusted
        if x is not None and not _matches(name, x, y):
            x = y = None
    if x is None or y is None:
        x, y = build(name, data_dir)
        _check(name, x, y)
        cache.mkdir(parents=True, exist_ok=True)
        staging = path.with_suffix(".tmp.npz")
        np.savez_compressed(staging, x=x, y=y)
        staging.replace(path)
    x.setflags(write=False)
    y.setflags(write=False)
    return RobustnessSet(name, x, y, {"x": array_sha256(x), "y": array_sha256(y)})


def _matches(name: str, x: np.ndarray, y: np.ndarray) -> bool:
    pinned = PINNED.get(name)
    if pinned is None:
        return True
    return (array_sha256(x), array_sha256(y)) == pinned


def _check(name: str, x: np.ndarray, y: np.ndarray) -> None:
    if x.dtype != np.uint8 or x.shape[1:] != (28, 28) or len(x) != len(y):
        raise DatasetCorrupt(f"the {name} robustness set built as {x.dtype} {x.shape}")
    if not _matches(name, x, y):
        raise DatasetCorrupt(
            f"the {name} robustness set built here has SHA-256 {array_sha256(x)} (x), "
            f"{array_sha256(y)} (y), not the pinned {PINNED[name]}: its generator's libraries "
            "(Pillow, scikit-image) draw differently from the versions it was pinned with"
        )


def build(
    name: str, data_dir: Path, *, seed: int = DEFAULT_SEED, per_class: int = CANVAS_PER_CLASS
) -> tuple[np.ndarray, np.ndarray]:
    """Build a set from its sources (no cache, no checksum): the generator itself.

    ``per_class`` shrinks the canvas set (tests); the stored set uses the default.
    """
    check_robustness_name(name)
    if name == "canvas":
        pictures, labels = _canvas_pictures(data_dir, seed, per_class)
    else:
        pictures, labels = _writers_pictures()
    return _upload_fit(pictures), labels


# --- canvas ----------------------------------------------------------------------------


def _canvas_pictures(data_dir: Path, seed: int, per_class: int) -> tuple[list[bytes], np.ndarray]:
    images_spec, labels_spec = idx_specs("mnist", "t10k")
    images = load_verified(data_dir, images_spec)
    labels = load_verified(data_dir, labels_spec)
    rng = np.random.default_rng(seed)
    chosen = np.sort(
        np.concatenate(
            [
                rng.choice(np.flatnonzero(labels == digit), per_class, replace=False)
                for digit in range(10)
            ]
        )
    )
    pictures = [_png(draw_on_canvas(images[i], rng)) for i in chosen]
    return pictures, labels[chosen].astype(np.uint8)


def skeleton_path(image: np.ndarray) -> np.ndarray:
    """The stroke's centre line as (row, col) points in units of the 28x28 picture."""
    from skimage.morphology import skeletonize

    big = Image.fromarray(np.asarray(image, dtype=np.uint8)).resize(
        (28 * SKELETON_UPSAMPLE,) * 2, Image.Resampling.BILINEAR
    )
    skeleton = skeletonize(np.asarray(big) >= 128)
    return np.argwhere(skeleton).astype(np.float64) / SKELETON_UPSAMPLE


def _segments(points: np.ndarray) -> list[tuple[int, int]]:
    """Pairs of 8-connected skeleton points: the pen's path between them."""
    step = 1.0 / SKELETON_UPSAMPLE
    index = {(round(r / step), round(c / step)): k for k, (r, c) in enumerate(points)}
    pairs = []
    for (r, c), k in index.items():
        for dr, dc in ((0, 1), (1, -1), (1, 0), (1, 1)):
            other = index.get((r + dr, c + dc))
            if other is not None:
                pairs.append((k, other))
    return pairs


def draw_on_canvas(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One digit re-drawn with a round pen on a white 280x280 canvas: uint8, black ink."""
    points = skeleton_path(image)
    size = CANVAS_SIZE * SUPERSAMPLE
    canvas = Image.new("L", (size, size), 255)
    if len(points) == 0:
        return np.asarray(canvas.reduce(SUPERSAMPLE))
    brush = rng.uniform(*BRUSH_PX) * SUPERSAMPLE
    height = rng.uniform(*HEIGHT_PX) * SUPERSAMPLE
    angle = math.radians(rng.uniform(-SLANT_DEGREES, SLANT_DEGREES))
    wobble = rng.uniform(0, 2 * math.pi, size=4)
    low, high = points.min(axis=0), points.max(axis=0)
    # The drawn height, unless the figure would then not fit the pad's width.
    room = size - brush - 4 * WOBBLE_PX * SUPERSAMPLE
    scale = min(height / max(high[0] - low[0], 1.0), room / max(high[1] - low[1], 1.0))
    centred = (points - (low + high) / 2) * scale
    rows = centred[:, 0] * math.cos(angle) - centred[:, 1] * math.sin(angle)
    cols = centred[:, 0] * math.sin(angle) + centred[:, 1] * math.cos(angle)
    amplitude = WOBBLE_PX * SUPERSAMPLE
    rows = rows + amplitude * np.sin(cols / size * 2 * math.pi * 1.5 + wobble[0])
    cols = cols + amplitude * np.sin(rows / size * 2 * math.pi * 1.5 + wobble[1])
    margin = brush / 2 + 2
    extent_r = (rows.min(), rows.max())
    extent_c = (cols.min(), cols.max())
    centre_r = _place(rng, margin - extent_r[0], size - margin - extent_r[1])
    centre_c = _place(rng, margin - extent_c[0], size - margin - extent_c[1])
    xy = np.stack([cols + centre_c, rows + centre_r], axis=1)
    pen = ImageDraw.Draw(canvas)
    width = max(1, round(brush))
    for a, b in _segments(points):
        pen.line([tuple(xy[a]), tuple(xy[b])], fill=0, width=width)
    radius = brush / 2
    for x, y in xy:
        pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=0)
    return np.asarray(canvas.reduce(SUPERSAMPLE))


def _place(rng: np.random.Generator, low: float, high: float) -> float:
    """A random centre between low and high (their middle if the figure barely fits)."""
    return float(rng.uniform(low, high)) if high > low else (low + high) / 2


# --- writers ---------------------------------------------------------------------------


def _writers_pictures() -> tuple[list[bytes], np.ndarray]:
    images, labels = sklearn_digits()
    pictures = []
    for counts in images:
        grey = np.rint(np.asarray(counts, dtype=np.float64) * (255.0 / 16.0)).astype(np.uint8)
        bitmap = Image.fromarray(grey).resize(
            (WRITERS_BITMAP, WRITERS_BITMAP), Image.Resampling.BICUBIC
        )
        pictures.append(_png(np.asarray(bitmap)))
    return pictures, np.asarray(labels, dtype=np.uint8)


# --- the service's upload path ---------------------------------------------------------


def _png(gray: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.asarray(gray, dtype=np.uint8)).save(out, format="PNG")
    return out.getvalue()


def _upload_fit(pictures: list[bytes]) -> np.ndarray:
    """What the service's multipart upload makes of each PNG for a digits model.

    Imported here, not at module level: core does not depend on the service, but these
    sets are defined as what a person's upload becomes, so they use the service's codec
    (and the digits contract from ``training.inputs``, where it is stated once).
    """
    from service.codecs import decode_images
    from training.inputs import INPUTS

    spec = INPUTS["mnist"]
    low, high = spec.value_range
    out = np.empty((len(pictures), 28, 28), dtype=np.uint8)
    for index, data in enumerate(pictures):
        fitted = decode_images(
            [(f"{index}.png", data)], spec, max_pixels=CANVAS_SIZE**2, max_batch=1, fit="auto"
        )[0]
        grey = (fitted.reshape(28, 28) - low) * (255.0 / (high - low))
        out[index] = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    return out
