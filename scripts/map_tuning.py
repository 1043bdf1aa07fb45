"""Choose the maps' method and parameters on the validation split, never the test split.

The stored maps are of the test split; their parameters are chosen here by the "separate
clusters" figure (``core.maps.class_share``) of a map of the *validation* split's embedding
(the same number of rows, the same seed), so the test split's labels pick nothing. Each
setting is printed with its share on the validation map, the layer's own share of the same
rows, and its fitting time (wall and CPU, one thread as the trainer fits).

    python -m scripts.map_tuning --models-dir models --model digits --setting base --setting ...
    python -m scripts.map_tuning --models-dir models --model digits --method umap --setting ...

``--refit`` then measures the chosen setting as the trainer stores it: the version's maps
are refitted in place (``training.maps.add_recipe_maps``: the recipe's methods, layers and
t-SNE setting, the full profile's points) and the stored "separate clusters" report is
printed with the fit times.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from core.datasets import load_dataset
from core.manifest import Manifest
from core.maps import class_share, sample
from training.maps import FITTERS, TSNE_SETTINGS, UMAP_SETTINGS

#: Per method, the named settings ``--setting`` picks from.
SETTINGS = {"tsne": TSNE_SETTINGS, "umap": UMAP_SETTINGS}

DATA_DIR = Path("data")


def validation_vectors(
    version_dir: Path, manifest: Manifest, cache: Path
) -> tuple[np.ndarray, np.ndarray]:
    """The validation split's embedding (computed once, kept in ``cache``) and labels."""
    path = cache / f"{manifest.name}-v{manifest.version}-validation.npz"
    if path.exists():
        stored = np.load(path)
        return stored["vectors"], stored["labels"]
    import tensorflow as tf

    from core.manifest import ENDPOINT_EMBED, SAVED_MODEL_DIR
    from training.neighbors import embed_split

    data = load_dataset(manifest.dataset.name, DATA_DIR, seed=manifest.training.seed)
    saved_model = tf.saved_model.load(str(version_dir / SAVED_MODEL_DIR))  # kept: its variables

    def run(x: np.ndarray) -> np.ndarray:
        outputs = getattr(saved_model, ENDPOINT_EMBED)(tf.constant(x))
        return next(iter(outputs.values())).numpy().reshape(len(x), -1)

    vectors = embed_split(run, data.validation.x)
    labels = np.asarray(data.validation.y)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, vectors=vectors, labels=labels)
    return vectors, labels


def refit(version_dir: Path, model: str) -> None:
    """The version's maps as ``make run`` would (re)fit them, and their cluster report."""
    from training.maps import add_recipe_maps
    from training.pipeline import PROFILES
    from training.recipes import get_spec

    spec = get_spec(model)
    manifest, report = add_recipe_maps(version_dir, spec, PROFILES["full"].map_points(spec))
    for record in manifest.maps:
        fields = ("method", "layer", "points", "params", "seconds", "cpu_seconds")
        print(json.dumps({"model": model, **{f: getattr(record, f) for f in fields}}))
    print(json.dumps(report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--model", required=True)
    parser.add_argument("--version", type=int, default=1)
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--method", choices=sorted(SETTINGS), default="tsne")
    parser.add_argument(
        "--setting", action="append", help="a name in the method's settings (default: all)"
    )
    parser.add_argument("--cache", type=Path, help="default: MODELS_DIR/.map_tuning")
    parser.add_argument("--refit", action="store_true", help="refit the stored test maps")
    args = parser.parse_args()
    version_dir = args.models_dir / args.model / str(args.version)
    settings = SETTINGS[args.method]
    unknown = sorted(set(args.setting or ()) - set(settings))
    if unknown:
        parser.error(f"no {args.method} setting {unknown}; there are {sorted(settings)}")
    if args.refit:
        refit(version_dir, args.model)
        return
    manifest = Manifest.read(version_dir)
    vectors, labels = validation_vectors(
        version_dir, manifest, args.cache or args.models_dir / ".map_tuning"
    )
    rows = sample(len(vectors), args.points, 0)
    chosen, truth = vectors[rows], labels[rows]
    layer_share = class_share(chosen, truth)
    fit = FITTERS[args.method][0]
    for setting in args.setting or sorted(settings):
        started, cpu = time.perf_counter(), time.process_time()
        coords, _params = fit(chosen, 0, setting=setting)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        share = class_share(coords.astype(np.float32), truth)
        print(json.dumps({"model": args.model, "split": "validation", "points": len(rows),
                          "method": args.method, "setting": setting, "share": round(share, 4),
                          "layer_share": round(layer_share, 4), "seconds": round(seconds, 1),
                          "cpu_seconds": round(cpu, 1)}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
