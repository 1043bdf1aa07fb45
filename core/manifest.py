"""The model-repository manifest: the one definition training writes and the service reads.

A model version lives at ``MODELS_DIR/<model>/<version>/`` and holds a SavedModel
(``saved_model/``) plus ``manifest.json``. The manifest tells a caller everything needed
to use the SavedModel with ``tf.saved_model.load`` alone: the input contract, the layers
that can be probed, and the exported endpoints with their tensor names.

A version may also hold the same endpoints compiled for LiteRT (``model.tflite``), which
the service runs instead of TensorFlow when present: the SavedModel stays the source of
truth, and the manifest records how closely the compiled copy matched it at export. It may
also hold ``maps/``: 2-D maps (t-SNE, UMAP) of a sample of its test split (``MapRecord``), and
``tails/``: a second SavedModel with, per probe-able layer, the function from that
layer's activation to the outputs, which layer attribution differentiates (``TailsRecord``).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
SAVED_MODEL_DIR = "saved_model"
LITERT_FILE = "model.tflite"
NEIGHBORS_DIR = "neighbors"
MAPS_DIR = "maps"
TAILS_DIR = "tails"
OOD_DIR = "ood"
#: The out-of-distribution calibration (``OodRecord``): fixed names inside ``OOD_DIR``.
OOD_CALIBRATION_FILE = "calibration.json"
OOD_MAHALANOBIS_FILE = "mahalanobis.npy"


def ood_knn_file(split: str) -> str:
    """The file in ``OOD_DIR`` of a split's vectors in a pooled ``knn`` space
    (``OodRecord.knn_pooling``), e.g. ``knn-mnist-train.npy``."""
    return f"knn-{split}.npy"


#: Model names are path components: keep them to a safe alphabet.
MODEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
_MODEL_NAME_RE = re.compile(MODEL_NAME_PATTERN)

# Endpoint names exported into every SavedModel (see docs/architecture.md).
ENDPOINT_PREDICT = "predict"  # x -> {"probabilities", "logits"}
ENDPOINT_EMBED = "embed"  # x -> {"embedding"}
ENDPOINT_LAYERS = "layers"  # x -> {<layer name>: output, ...} for every probe-able layer
ENDPOINT_HEAD = "head"  # embedding -> {"probabilities", "logits"}
ENDPOINTS = (ENDPOINT_PREDICT, ENDPOINT_EMBED, ENDPOINT_LAYERS, ENDPOINT_HEAD)

EMBEDDING_LAYER = "embedding"
#: Layer names as they may appear in file names (Keras names: letters, digits, ``_``).
LAYER_NAME_PATTERN = r"^[A-Za-z0-9_]+$"
LOGITS_LAYER = "logits"
PROBABILITIES_LAYER = "probabilities"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InputSpec(_Frozen):
    """What a caller sends. Scaling to the network's working range happens inside the model."""

    kind: Literal["image", "vector"]
    shape: tuple[int, ...] = Field(description="Shape of one instance, without the batch axis.")
    dtype: Literal["float32"] = "float32"
    value_range: tuple[float, float] = Field(description="Range of the values the caller sends.")
    scaling: str = Field(description="What the model does to the input first, e.g. 'x / 255'.")
    image_polarity: Literal["light-on-dark", "dark-on-light"] | None = Field(
        default=None,
        description="For images: how the training data looks. MNIST-style data is a light "
        "figure on a dark background; uploads are converted to match.",
    )

    image_fit: Literal["mnist-centre", "pad-resize"] | None = Field(
        default=None,
        description="For images of another size: 'mnist-centre' crops the figure, scales its "
        "longest side to 20/28 of the input and centres it by mass (how MNIST was made); "
        "'pad-resize' pads to a square and resizes (Fashion-MNIST, sklearn digits).",
    )

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


class LayerSpec(_Frozen):
    name: str
    output_shape: tuple[int, ...] = Field(description="Per instance, without the batch axis.")
    kind: str = Field(description="The Keras layer class, e.g. 'Dense'.")
    probe_only: str | None = Field(
        default=None,
        description="Why no head or layer tail starts at this layer (an imported graph that "
        "branches around it); None where the rest of the network is a function of it.",
    )


class TensorSpec(_Frozen):
    name: str
    shape: tuple[int | None, ...] = Field(description="With the batch axis first (None).")
    dtype: str = "float32"


class EndpointSpec(_Frozen):
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


class CompiledRecord(_Frozen):
    """The endpoints compiled for LiteRT (in ``LITERT_FILE``), checked against the SavedModel
    when exported. The file name is fixed so a manifest cannot point outside its version."""

    format: Literal["litert"] = "litert"
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    endpoints: tuple[str, ...]
    max_abs_diff: float = Field(
        ge=0, description="Largest |compiled - SavedModel| over every output on the check inputs."
    )
    converter: str = Field(description="TensorFlow version that converted it.")


class NeighborIndexRecord(_Frozen):
    """A split run through this version up to one layer, for nearest-neighbour search
    (``:neighbors``): the embedding layer always, other layers where the model's recipe opts
    them in (``ModelSpec.neighbor_layers``).

    The files' names follow from ``dataset`` and ``layer`` (``neighbor_index_paths``), never
    from a request, and both are checked against these checksums when the service maps them.
    """

    dataset: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*-(train|validation|test)$")
    layer: str = Field(
        EMBEDDING_LAYER,
        pattern=LAYER_NAME_PATTERN,
        description="The layer whose outputs are indexed (flattened to ``width``).",
    )
    rows: int = Field(ge=1)
    width: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Of the vectors' .npy file.")
    labels_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Of the labels' .npy.")
    size_bytes: int | None = Field(
        default=None,
        ge=0,
        description="Size of the vectors' .npy file (absent in records written before it was).",
    )


class TailsRecord(_Frozen):
    """The layer tails in ``TAILS_DIR``: a SavedModel with one endpoint per layer, named by
    the layer, from its activation to ``{"probabilities", "logits"}``. Checked at build
    against the version's own SavedModel (every variable bit-equal, ``tail(layers(x)[L])``
    within ``max_abs_diff`` of ``predict(x)``); the service loads it only while the folder's
    ``tree_sha256`` still matches."""

    format: Literal["saved-model"] = "saved-model"
    layers: tuple[str, ...] = Field(min_length=1, description="One endpoint per layer name.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="``tree_sha256`` of the folder.")
    size_bytes: int = Field(ge=0, description="Total size of the folder's files.")
    max_abs_diff: float = Field(
        ge=0, description="Largest |tail(layers(x)[L]) - predict(x)| over the check inputs."
    )


class OodMethodRecord(_Frozen):
    """One out-of-distribution method's calibration: the threshold and the validation
    split's scores as a histogram (the page draws an input's score on it)."""

    threshold: float = Field(description="Scores above it are 'out' (higher = more unusual).")
    edges: tuple[float, ...] = Field(min_length=2, description="Histogram bin edges.")
    counts: tuple[int, ...] = Field(min_length=1, description="Validation scores per bin.")


class OodRecord(_Frozen):
    """Thresholds for the out-of-distribution verdict (``core.ood.scores``), calibrated by
    the trainer on the validation split only, so that ``keep`` of it is ``in``. The
    calibration's detail is ``OOD_DIR/OOD_CALIBRATION_FILE`` and the Mahalanobis
    parameters ``OOD_DIR/OOD_MAHALANOBIS_FILE``, both checked against these checksums
    when the service maps them; ``knn`` searches the ``train_index`` neighbour index."""

    methods: dict[str, OodMethodRecord] = Field(min_length=1)
    default_method: str = Field(
        description="knn unless another method is clearly better on the validation split "
        "against proxies made from it (never on a test or OOD set)."
    )
    keep: float = Field(gt=0, lt=1, description="Share of the validation split kept 'in'.")
    k: int = Field(ge=1, description="Neighbour rank of the knn distance.")
    train_index: str = Field(description="The neighbour index knn searches, e.g. 'mnist-train'.")
    knn_layer: str | None = Field(
        default=None,
        pattern=LAYER_NAME_PATTERN,
        description="The layer whose train index knn searches (one the recipe indexes, chosen "
        "on the validation split against proxies); None: the embedding.",
    )
    knn_pooling: Literal["mean"] | None = Field(
        default=None,
        description="'mean': knn searches knn_layer's feature map averaged over its spatial "
        "positions (one value per channel), whose split vectors are in OOD_DIR "
        "(ood_knn_file, checked against knn_files), not the layer's neighbour index.",
    )
    knn_files: dict[str, str] = Field(
        default_factory=dict,
        description="With knn_pooling: split reference -> SHA-256 of its vectors' file; the "
        "train index's is the one searched, the test split's places the map's points.",
    )
    validation: str = Field(
        description="The split calibrated on, e.g. 'mnist-validation', or "
        "'mnist-validation-augmented' (its seeded copy under the training augmentation)."
    )
    validation_rows: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Of the calibration JSON.")
    mahalanobis_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: int = Field(ge=0, description="Both files together.")

    @model_validator(mode="after")
    def _default_known(self) -> OodRecord:
        if self.default_method not in self.methods:
            raise ValueError("the default ood method must be among the calibrated methods")
        if self.knn_pooling is not None and (
            self.knn_layer is None or self.train_index not in self.knn_files
        ):
            raise ValueError("a pooled knn space needs its knn_layer and the train index's file")
        if any(not re.fullmatch(r"[0-9a-f]{64}", sha) for sha in self.knn_files.values()):
            raise ValueError("knn_files holds SHA-256 hex digests")
        return self


def file_sha256(path: Path) -> str:
    """A file's SHA-256, read a megabyte at a time: the checksum the manifest records of an
    artefact file (indexes, maps), checked by the service before it maps the file."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_sha256(folder: Path) -> str:
    """One checksum of a folder: every file's relative path and bytes, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


class MapRecord(_Frozen):
    """A 2-D map of a sample of a split in one layer's space, fitted by the trainer
    (``training.maps``): ``points`` rows of the split's index (their row numbers in one
    .npy, int32) and their coordinates (float32, ``points`` x 2, in another); the names
    follow from ``method``, ``dataset`` and ``layer`` (``map_paths``). New inputs are placed
    by ``placement`` among the ``placement_k`` nearest map examples in the layer's space,
    which needs the split's index of that layer (``neighbor_index``)."""

    method: Literal["tsne", "umap"]
    dataset: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*-(train|validation|test)$")
    layer: str = Field(EMBEDDING_LAYER, pattern=LAYER_NAME_PATTERN)
    points: int = Field(ge=2, description="Rows of the split on the map.")
    seed: int = Field(ge=0, description="``core.maps.sample(rows, points, seed)`` drew them.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Of the coordinates' .npy.")
    rows_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Of the row numbers' .npy.")
    size_bytes: int = Field(ge=0, description="Both files' sizes together.")
    placement: Literal["knn-inverse-square"] = "knn-inverse-square"
    placement_k: int = Field(ge=1)
    library: str = Field(description="The package and version that fitted it.")
    params: dict[str, str | int | float] = Field(default_factory=dict)
    seconds: float = Field(ge=0, description="Fitting time, wall clock.")
    cpu_seconds: float = Field(
        0.0, ge=0, description="The fitting process's CPU time (its own measure on a busy machine)."
    )


def map_paths(version_dir: Path, method: str, dataset: str, layer: str) -> tuple[Path, Path]:
    """(coordinates, row numbers) .npy files of a version's ``method`` map of ``dataset``
    in ``layer``'s space."""
    stem = f"{dataset}.{layer}.{method}"
    return version_dir / MAPS_DIR / f"{stem}.npy", version_dir / MAPS_DIR / f"{stem}.rows.npy"


def neighbor_index_paths(
    version_dir: Path, dataset: str, layer: str = EMBEDDING_LAYER
) -> tuple[Path, Path]:
    """(vectors, labels) .npy files of a version's index of ``dataset`` in ``layer``'s space;
    the embedding's files keep the names they had before other layers could be indexed."""
    folder = version_dir / NEIGHBORS_DIR
    stem = dataset if layer == EMBEDDING_LAYER else f"{dataset}.{layer}"
    return folder / f"{stem}.npy", folder / f"{stem}.labels.npy"


class DatasetRecord(_Frozen):
    """Which data a model was trained and tested on, pinned by checksums of decoded arrays."""

    name: str
    source: str
    sha256: dict[str, str] = Field(description="Array name -> SHA-256 of its raw bytes.")
    split: dict[str, int] = Field(description="Split name -> number of examples.")


class TrainingRecord(_Frozen):
    epochs: int
    batch_size: int
    optimizer: str
    learning_rate: float
    loss: str
    seed: int
    seconds: float
    params: int = Field(description="Trainable + non-trainable parameters.")
    extra: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class Manifest(_Frozen):
    format_version: int = FORMAT_VERSION
    name: str = Field(pattern=MODEL_NAME_PATTERN)
    version: int = Field(ge=1)
    task: str = Field(description="The task family, e.g. 'digits', 'fashion', 'xor'.")
    architecture: str = Field(description="Short id of the network, e.g. 'mlp-128'.")
    description: str
    class_names: tuple[str, ...]
    input: InputSpec
    layers: tuple[LayerSpec, ...] = Field(description="Every probe-able layer, input to output.")
    embedding_layer: str = EMBEDDING_LAYER
    endpoints: dict[str, EndpointSpec]
    training: TrainingRecord
    dataset: DatasetRecord
    framework: dict[str, str] = Field(description="Package -> version used for training.")
    created_at: datetime
    reference: dict[str, float] = Field(
        default_factory=dict,
        description="Figures from the course reports this model is measured against.",
    )
    compiled: CompiledRecord | None = Field(
        default=None, description="The LiteRT copy of the endpoints, when the export made one."
    )
    neighbor_indexes: tuple[NeighborIndexRecord, ...] = Field(
        default=(), description="Splits embedded for nearest-neighbour search."
    )
    tails: TailsRecord | None = Field(
        default=None, description="Per-layer tails to the outputs, for layer attribution."
    )
    ood: OodRecord | None = Field(
        default=None, description="Out-of-distribution thresholds, calibrated on validation."
    )
    maps: tuple[MapRecord, ...] = Field(
        default=(), description="2-D maps (t-SNE, UMAP) fitted by the trainer."
    )

    def map(self, method: str, layer: str | None = None) -> MapRecord | None:
        """The ``method`` map of the test split in ``layer``'s space (default: the embedding)."""
        layer = layer or self.embedding_layer
        dataset = f"{self.dataset.name}-test"
        return next(
            (m for m in self.maps if (m.method, m.dataset, m.layer) == (method, dataset, layer)),
            None,
        )

    def neighbor_index(self, dataset: str, layer: str | None = None) -> NeighborIndexRecord | None:
        """The index of ``dataset`` in ``layer``'s space (default: the embedding layer)."""
        layer = layer or self.embedding_layer
        return next(
            (i for i in self.neighbor_indexes if (i.dataset, i.layer) == (dataset, layer)), None
        )

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise ValueError("layer names must be unique")
        if self.embedding_layer not in names:
            raise ValueError(f"embedding layer {self.embedding_layer!r} is not among the layers")
        missing = [e for e in ENDPOINTS if e not in self.endpoints]
        if missing:
            raise ValueError(f"missing endpoints: {', '.join(missing)}")
        if len(self.class_names) < 2:
            raise ValueError("a classifier needs at least two class names")
        if self.compiled and not set(self.compiled.endpoints) <= set(ENDPOINTS):
            raise ValueError(f"compiled endpoints must be among {', '.join(ENDPOINTS)}")
        if self.tails and not set(self.tails.layers) <= set(names):
            raise ValueError("tails must be of layers the manifest lists")
        return self

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def layer(self, name: str) -> LayerSpec | None:
        return next((layer for layer in self.layers if layer.name == name), None)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def write(self, version_dir: Path) -> Path:
        """Write atomically, so a reader never sees half a manifest."""
        path = version_dir / MANIFEST_FILE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self.to_json() + "\n", encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def read(cls, version_dir: Path) -> Manifest:
        raw = json.loads((version_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        return cls.model_validate(raw)


def is_valid_model_name(name: str) -> bool:
    return bool(_MODEL_NAME_RE.match(name))


def version_dir(models_dir: Path, name: str, version: int) -> Path:
    if not is_valid_model_name(name):
        raise ValueError(f"invalid model name {name!r}")
    return models_dir / name / str(int(version))


def list_versions(models_dir: Path, name: str) -> list[int]:
    """Complete versions only: a directory counts once its manifest is in place."""
    root = models_dir / name
    if not is_valid_model_name(name) or not root.is_dir():
        return []
    versions = []
    for child in root.iterdir():
        if child.name.isdigit() and (child / MANIFEST_FILE).is_file():
            versions.append(int(child.name))
    return sorted(versions)


def versions_on_disk(models_dir: Path) -> dict[str, list[int]]:
    """Every model folder of the repository with its complete versions (a manifest each)."""
    if not models_dir.is_dir():
        return {}
    found = {}
    for child in sorted(models_dir.iterdir()):
        if child.is_dir() and is_valid_model_name(child.name):
            versions = list_versions(models_dir, child.name)
            if versions:
                found[child.name] = versions
    return found
