"""2-D maps of a version's test split: t-SNE for every model, UMAP and other layers where the
recipe opts them in (``ModelSpec.map_methods``, ``ModelSpec.map_layers``).

Fitted by the trainer, as the neighbour indexes are (the service's model volume is
read-only), on a seeded sample of the split's index of the layer (``core.maps.sample``;
``ModelSpec.map_points`` rows, every row of a smaller split): two .npy files per map (row
numbers, coordinates) that the service memory-maps, recorded in the manifest with their
checksums and size (``MapRecord``). Versions exported before maps existed gain them in
place (``add_maps``): files first, the manifest last, each atomically, weights untouched.

Why these libraries: openTSNE (FFT-accelerated t-SNE, BSD, wheels for the project's Python
and numpy 2) fits 5,000 x 128 in seconds per core; umap-learn is UMAP's reference
implementation (numba). Neither's own ``transform`` places the service's new inputs: a new
point is placed among its nearest map examples in the layer's space (``core.maps.place``),
which is deterministic, a millisecond, and needs no pickled fitting state on the volume.

Each fit also yields the "separate clusters" figure (``core.maps.class_share``) on the map,
in the layer's own space, and on PCA's map of the same rows: stored as one ``map``
evaluation per version (``cluster_report``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.datasets.loading import DEFAULT_SEED
from core.manifest import Manifest, MapRecord, map_paths, neighbor_index_paths
from core.maps import CLUSTER_K, PLACE_K, STORED_METHODS, class_share, principal_axes, sample
from training.artefacts import npy_bytes, write_atomically

if TYPE_CHECKING:  # the recipes import Keras; a map's fit needs only their fields
    from training.recipes import ModelSpec

logger = logging.getLogger(__name__)

#: t-SNE's perplexity (openTSNE's default) and UMAP's neighbours and spread (umap-learn's).
PERPLEXITY = 30.0
UMAP_NEIGHBORS = 15
UMAP_MIN_DIST = 0.1


class UnknownMap(ValueError):
    """A recipe opts in a method or layer the trainer cannot map."""


#: Below this many points Barnes-Hut beats the FFT interpolation (whose grid costs much the
#: same whatever the points): 300 points take 1.4 s of CPU by Barnes-Hut, 8.6 s by FFT; a
#: 2,500-point map 7.7 s against 16-21 s, with the same cluster share (docs/architecture.md,
#: "The maps"). The 10,000-point maps keep FFT, which is what makes them affordable.
FFT_FROM = 5000
#: One thread: the trainer runs beside the service (``make run``), and openTSNE's worker
#: threads spin on a busy machine (300 points took 15 s of CPU with 2 jobs, 1.4 s with 1).
TSNE_JOBS = 1


#: Named openTSNE settings (beyond its defaults) the map can be fitted with; the trainer
#: uses ``TSNE_SETTING``, chosen by ``scripts.map_tuning`` on the validation split's maps
#: (docs/architecture.md, "The maps"). ``exaggeration`` above 1 after the early phase pulls
#: each cluster tighter; ``dof`` below 1 gives heavier tails (more room between clusters).
TSNE_SETTINGS: dict[str, dict[str, float | int | str]] = {
    "base": {},
    "exag2": {"exaggeration": 2},
    "exag15": {"exaggeration": 1.5},
    "exag125": {"exaggeration": 1.25},
    "exag15-iter750": {"exaggeration": 1.5, "n_iter": 750},
    "dof06": {"dof": 0.6},
    "perp15": {"perplexity": 15},
    "perp50": {"perplexity": 50},
    "perp80": {"perplexity": 80},
    "cosine": {"metric": "cosine"},
    "cosine-perp50": {"metric": "cosine", "perplexity": 50},
    "cosine-exag15": {"metric": "cosine", "exaggeration": 1.5},
    "cosine-exag125": {"metric": "cosine", "exaggeration": 1.25},
    "iter750": {"n_iter": 750},
    "bh": {"negative_gradient_method": "bh"},
    "fft": {"negative_gradient_method": "fft"},
}
TSNE_SETTING = "base"

#: Named umap-learn settings, tried beside t-SNE's by ``scripts.map_tuning --method umap``:
#: fewer neighbours keep smaller neighbourhoods, ``min_dist`` 0 packs each cluster tighter.
UMAP_SETTINGS: dict[str, dict[str, float | int | str]] = {
    "base": {},
    "dist0": {"min_dist": 0.0},
    "nn30-dist0": {"n_neighbors": 30, "min_dist": 0.0},
    "nn10-dist0": {"n_neighbors": 10, "min_dist": 0.0},
    "cosine-dist0": {"metric": "cosine", "min_dist": 0.0},
}
UMAP_SETTING = "base"


def gradient_method(points: int) -> str:
    """openTSNE's negative-gradient approximation for a map of ``points``: Barnes-Hut below
    ``FFT_FROM``, the FFT interpolation from there."""
    return "fft" if points >= FFT_FROM else "bh"


def fit_tsne(
    vectors: np.ndarray, seed: int, *, setting: str = TSNE_SETTING
) -> tuple[np.ndarray, dict[str, str | int | float]]:
    """openTSNE with PCA initialisation; the perplexity shrinks for a split of under 100."""
    from openTSNE import TSNE

    options = dict(TSNE_SETTINGS[setting])
    perplexity = min(float(options.pop("perplexity", PERPLEXITY)), (len(vectors) - 1) / 3)
    gradient = options.pop("negative_gradient_method", gradient_method(len(vectors)))
    # PCA to 2-D needs 2 features: a 1-unit layer (digits-h1) starts from a seeded random layout.
    start = "pca" if np.asarray(vectors).reshape(len(vectors), -1).shape[1] >= 2 else "random"
    embedding = TSNE(
        n_components=2, perplexity=perplexity, initialization=start, random_state=seed,
        n_jobs=TSNE_JOBS, negative_gradient_method=gradient, verbose=False, **options,
    ).fit(np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1))  # fmt: skip
    params = {"setting": setting, "perplexity": perplexity, "initialization": start,
              "gradient": gradient, **options}  # fmt: skip
    return np.asarray(embedding), params


def fit_umap(
    vectors: np.ndarray, seed: int, *, setting: str = UMAP_SETTING
) -> tuple[np.ndarray, dict[str, str | int | float]]:
    """umap-learn (its defaults, or a named ``UMAP_SETTINGS``); a seed makes it
    deterministic (and single-threaded)."""
    import umap

    options = dict(UMAP_SETTINGS[setting])
    neighbors = min(int(options.pop("n_neighbors", UMAP_NEIGHBORS)), len(vectors) - 1)
    min_dist = float(options.pop("min_dist", UMAP_MIN_DIST))
    reducer = umap.UMAP(
        n_components=2, n_neighbors=neighbors, min_dist=min_dist, random_state=seed, **options
    )
    coords = reducer.fit_transform(np.asarray(vectors, dtype=np.float32))
    return np.asarray(coords), {"setting": setting, "n_neighbors": neighbors,
                                "min_dist": min_dist, **options}  # fmt: skip


FITTERS = {"tsne": (fit_tsne, "openTSNE"), "umap": (fit_umap, "umap-learn")}


def wanted(
    manifest: Manifest, methods: Sequence[str], layers: Sequence[str]
) -> list[tuple[str, str]]:
    """(method, layer) pairs a recipe asks for: each method over the embedding and ``layers``."""
    for method in methods:
        if method not in STORED_METHODS:
            raise UnknownMap(f"no map method {method!r}; the trainer fits {STORED_METHODS}")
    for layer in layers:
        if manifest.layer(layer) is None:
            raise UnknownMap(f"{manifest.name} has no layer {layer!r} to map")
    return [(m, layer) for m in methods for layer in (manifest.embedding_layer, *layers)]


def current(
    manifest: Manifest, record: MapRecord | None, points: int, setting: str = TSNE_SETTING
) -> bool:
    """Whether a stored map is the one the trainer fits today: as many points (``points``,
    or the whole split when smaller) and, for t-SNE, the recipe's ``setting``. A map an
    earlier release fitted otherwise is refitted in place, as a missing one is added."""
    if record is None:
        return False
    index = manifest.neighbor_index(record.dataset, record.layer)
    if index is None or record.points != min(points, index.rows):
        return False
    # Maps fitted before settings were named were fitted with "base".
    return record.method != "tsne" or record.params.get("setting", "base") == setting


def has_maps(
    manifest: Manifest,
    methods: Sequence[str],
    layers: Sequence[str],
    points: int,
    setting: str = TSNE_SETTING,
) -> bool:
    return all(
        current(manifest, manifest.map(m, layer), points, setting)
        for m, layer in wanted(manifest, methods, layers)
    )


def build_maps(
    version_dir: Path,
    manifest: Manifest,
    *,
    methods: Sequence[str],
    layers: Sequence[str],
    points: int,
    seed: int,
    setting: str = TSNE_SETTING,
) -> Manifest:
    """Fit the maps the manifest lacks (or holds fitted otherwise, ``current``) over the test
    split's indexes (which must exist), t-SNE's with ``setting``; returns the manifest with
    their records (the caller writes it)."""
    if setting not in TSNE_SETTINGS:
        raise UnknownMap(f"no t-SNE setting {setting!r}; there are {sorted(TSNE_SETTINGS)}")
    settings = {"tsne": setting, "umap": UMAP_SETTING}
    dataset = f"{manifest.dataset.name}-test"
    records = list(manifest.maps)
    for method, layer in wanted(manifest, methods, layers):
        stored = manifest.map(method, layer)
        if current(manifest, stored, points, setting):
            continue
        records = [r for r in records if r is not stored]
        index = manifest.neighbor_index(dataset, layer)
        if index is None:
            raise UnknownMap(f"{manifest.name}: no index of {dataset} in {layer!r} to map")
        vectors = np.load(neighbor_index_paths(version_dir, dataset, layer)[0], mmap_mode="r")
        rows = sample(len(vectors), points, seed).astype(np.int32)
        fit, library = FITTERS[method]
        started, cpu_started = time.perf_counter(), time.process_time()
        coords, params = fit(np.asarray(vectors[rows]), seed, setting=settings[method])
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        coords_npy = npy_bytes(np.ascontiguousarray(coords, dtype=np.float32))
        rows_npy = npy_bytes(rows)
        coords_path, rows_path = map_paths(version_dir, method, dataset, layer)
        records.append(
            MapRecord(
                method=method,  # type: ignore[arg-type]
                dataset=dataset,
                layer=layer,
                points=len(rows),
                seed=seed,
                rows_sha256=write_atomically(rows_path, rows_npy),
                sha256=write_atomically(coords_path, coords_npy),
                size_bytes=len(coords_npy) + len(rows_npy),
                placement_k=PLACE_K,
                library=f"{library} {package_version(library)}",
                params=params,
                seconds=round(seconds, 2),
                cpu_seconds=round(cpu, 2),
            )
        )
        logger.info("%s v%d: %s map of %s in %s (%d points) in %.1f s (%.1f s of CPU)",
                    manifest.name, manifest.version, method, dataset, layer, len(rows), seconds,
                    cpu)  # fmt: skip
    return manifest.model_copy(update={"maps": tuple(records)})


def cluster_report(version_dir: Path, manifest: Manifest) -> dict[str, object]:
    """The "separate clusters" figure of every stored map, and of PCA's map of the same
    rows (PCA fitted on the whole split, as the service fits it), each beside the same
    measure in the layer's own space. Coordinates are taken as float32, as the service
    answers them, so the figure recomputed from ``/projection/points`` is the same."""
    entries: list[dict[str, object]] = []
    for record in manifest.maps:
        coords_path, rows_path = map_paths(version_dir, record.method, record.dataset, record.layer)
        rows = np.load(rows_path)
        coords = np.load(coords_path)
        vectors_path, labels_path = neighbor_index_paths(version_dir, record.dataset, record.layer)
        vectors = np.load(vectors_path, mmap_mode="r")
        labels = np.load(labels_path)
        mean, components, _ = principal_axes(vectors)
        pca = ((np.asarray(vectors[rows], dtype=np.float64) - mean) @ components.T).astype(
            np.float32
        )
        common = {
            "layer": record.layer,
            "points": record.points,
            "seed": record.seed,
            "size": len(vectors),
            "layer_share": class_share(vectors[rows], labels[rows]),
        }
        for method, points in ((record.method, coords), ("pca", pca)):
            if any(e["method"] == method and e["layer"] == record.layer for e in entries):
                continue
            entries.append({"method": method, **common, "share": class_share(points, labels[rows])})
    return {"dataset": f"{manifest.dataset.name}-test", "k": CLUSTER_K, "maps": entries}


def add_maps(
    version_dir: Path,
    *,
    methods: Sequence[str],
    layers: Sequence[str],
    points: int,
    seed: int,
    setting: str = TSNE_SETTING,
) -> tuple[Manifest, dict[str, object] | None]:
    """Fit an exported version's missing maps in place; (manifest, the cluster report when
    a map was added, else None)."""
    manifest = Manifest.read(version_dir)
    if has_maps(manifest, methods, layers, points, setting):
        return manifest, None
    updated = build_maps(
        version_dir,
        manifest,
        methods=methods,
        layers=layers,
        points=points,
        seed=seed,
        setting=setting,
    )
    updated.write(version_dir)
    return updated, cluster_report(version_dir, updated)


def add_recipe_maps(
    version_dir: Path, spec: ModelSpec, points: int
) -> tuple[Manifest, dict[str, object] | None]:
    """``add_maps`` with what the recipe asks for (its methods, layers and t-SNE setting),
    ``points`` rows (the profile's ``map_points``), seed 0: the trainer's, the tuning
    script's refit and the fitting benchmark's maps are the same."""
    return add_maps(
        version_dir,
        methods=spec.map_methods,
        layers=spec.map_layers,
        points=points,
        seed=DEFAULT_SEED,
        setting=spec.tsne_setting,
    )
