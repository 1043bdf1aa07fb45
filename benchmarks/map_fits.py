"""What the 2-D maps add to training: every model's maps fitted as the trainer fits them.

    python -m benchmarks.map_fits [--models-dir DIR] [--out benchmarks/results/map_fits.json]
                                  [--tsne-jobs N]

For each model in the repository (its latest version), ``training.maps.add_recipe_maps``
runs with the full profile's points, in a scratch copy of the
version that holds only its manifest (without maps) and links to its neighbour indexes, so
the repository is only read. Each model's wall and CPU time covers what the trainer's
``_ensure_maps`` pays: the fits and the "separate clusters" report. One process, models one
after another, as the background trainer of ``make run`` fits them. The issue's budget: all
models' training grows by at most 5 minutes. Measure it at normal priority on a quiet machine.
``--tsne-jobs 2`` measures what openTSNE's second thread would buy (the trainer uses
``training.maps.TSNE_JOBS``; other thread counts give other float roundings, so other maps).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from core.manifest import NEIGHBORS_DIR, Manifest, version_dir, versions_on_disk
from training import maps
from training.pipeline import PROFILES
from training.recipes import CATALOG

BUDGET_S = 300.0


def fit_model(source: Path, scratch: Path) -> dict[str, object]:
    """Fit one version's maps from scratch in ``scratch`` (its indexes linked, not copied)."""
    manifest = Manifest.read(source)
    spec = CATALOG[manifest.name]
    scratch.mkdir(parents=True)
    (scratch / NEIGHBORS_DIR).symlink_to((source / NEIGHBORS_DIR).resolve())
    manifest.model_copy(update={"maps": ()}).write(scratch)
    started, cpu = time.perf_counter(), time.process_time()
    fitted, report = maps.add_recipe_maps(scratch, spec, PROFILES["full"].map_points(spec))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"{manifest.name}: {seconds:.1f} s ({cpu:.1f} s of CPU): "
          + ", ".join(f"{r.method}/{r.layer} {r.points} points {r.seconds} s"
                      for r in fitted.maps), flush=True)  # fmt: skip
    return {
        "model": manifest.name,
        "version": manifest.version,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "maps": [
            r.model_dump(include={"method", "layer", "points", "seconds", "cpu_seconds"})
            for r in fitted.maps
        ],
        "clusters": (report or {}).get("maps", []),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/map_fits.json"))
    parser.add_argument(
        "--tsne-jobs", type=int, default=maps.TSNE_JOBS, help="openTSNE's threads per fit"
    )
    args = parser.parse_args()
    maps.TSNE_JOBS = args.tsne_jobs  # read by training.maps.fit_tsne at each fit
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="map-fits-") as tmp:
        for name, versions in sorted(versions_on_disk(args.models_dir).items()):
            if name not in CATALOG:
                continue
            source = version_dir(args.models_dir, name, versions[-1])
            rows.append(fit_model(source, Path(tmp) / name))
    total = time.perf_counter() - started
    missing = sorted(set(CATALOG) - {str(r["model"]) for r in rows})
    result = {
        "models": rows,
        "missing": missing,
        "total_seconds": round(total, 1),
        "budget_seconds": BUDGET_S,
        "tsne_jobs": args.tsne_jobs,
        "passes": total <= BUDGET_S and not missing,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"all maps of {len(rows)} models: {total:.1f} s (budget {BUDGET_S:.0f} s)"
          + (f"; not in the repository: {', '.join(missing)}" if missing else ""))  # fmt: skip
    sys.exit(0 if result["passes"] else 1)


if __name__ == "__main__":
    main()
