"""Print the README's "reports vs ours" table from a metrics database.

Beside the test accuracy, a column per held-out robustness set (``core.datasets.robustness``:
digits drawn on the page's canvas, other writers' handwriting), from the stored
``robustness`` evaluation; "-" for models of other tasks.

python scripts/results_table.py [--database-url URL] [--models-dir DIR]
"""

from __future__ import annotations

import argparse

from core.datasets import ROBUSTNESS_SETS
from core.db import KIND_ROBUSTNESS, make_engine, store
from core.manifest import Manifest, version_dir, versions_on_disk
from core.settings import Settings
from training.recipes import CATALOG


def markdown(settings: Settings) -> str:
    engine = make_engine(settings.database_url)
    versions = versions_on_disk(settings.models_dir)
    robust = "".join(f" {name} |" for name in ROBUSTNESS_SETS)
    lines = [
        "| model | network | epochs | report's test accuracy | ours | floor |"
        f"{robust} train seconds |",
        "|---|---|---|---|---|---|" + "---|" * len(ROBUSTNESS_SETS) + "---|",
    ]
    try:
        for name, spec in CATALOG.items():
            if name not in versions:
                continue
            version = versions[name][-1]
            rows = store.get_evaluations(engine, name, version, kind="test")
            if not rows:
                continue
            manifest = Manifest.read(version_dir(settings.models_dir, name, version))
            ours = rows[0].data["accuracy"]
            held_out = {
                r.dataset: r.data["accuracy"]
                for r in store.get_evaluations(engine, name, version, kind=KIND_ROBUSTNESS)
            }
            robustness = "".join(f" {_pct(held_out.get(s))} |" for s in ROBUSTNESS_SETS)
            lines.append(
                f"| `{name}` | {manifest.architecture} | {manifest.training.epochs} "
                f"| {_pct(spec.reference)} | **{_pct(ours)}** | {_pct(spec.floor)} |"
                f"{robustness} {manifest.training.seconds:.0f} |"
            )
    finally:
        engine.dispose()
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--models-dir")
    args = parser.parse_args()
    given = {"database_url": args.database_url, "models_dir": args.models_dir}
    print(markdown(Settings(**{k: v for k, v in given.items() if v})))
