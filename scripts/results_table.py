"""Print the README's "reports vs ours" table from a metrics database.

Beside the test accuracy, a column per held-out robustness set (``core.datasets.robustness``:
digits drawn on the page's canvas, other writers' handwriting), from the stored
``robustness`` evaluation; "-" for models of other tasks.

python scripts/results_table.py [--database-url URL] [--models-dir DIR]
"""

from __future__ import annotations

from core.datasets import ROBUSTNESS_SETS
from core.db import KIND_ROBUSTNESS, make_engine, store
from core.manifest import Manifest, version_dir, versions_on_disk
from core.settings import Settings
from training.readme_tables import main, pct
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
            robustness = "".join(f" {pct(held_out.get(s), 2)} |" for s in ROBUSTNESS_SETS)
            lines.append(
                f"| `{name}` | {manifest.architecture} | {manifest.training.epochs} "
                f"| {pct(spec.reference, 2)} | **{pct(ours, 2)}** | {pct(spec.floor, 2)} |"
                f"{robustness} {manifest.training.seconds:.0f} |"
            )
    finally:
        engine.dispose()
    return "\n".join(lines)


if __name__ == "__main__":
    main(markdown, __doc__)
