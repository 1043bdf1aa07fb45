"""Print the README's "reports vs ours" table from a metrics database.

Beside the test accuracy, a column per held-out robustness set (``core.datasets.robustness``:
digits drawn on the page's canvas, other writers' handwriting), from the stored
``robustness`` evaluation; "-" for models of other tasks.

python scripts/results_table.py [--database-url URL] [--models-dir DIR]
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Engine

from core.datasets import ROBUSTNESS_SETS
from core.db import KIND_ROBUSTNESS, store
from core.manifest import Manifest, version_dir
from core.settings import Settings
from training.readme_tables import main, newest_rows, pct
from training.recipes import CATALOG


def markdown(settings: Settings) -> str:
    robust = "".join(f" {name} |" for name in ROBUSTNESS_SETS)
    header = [
        "| model | network | epochs | report's test accuracy | ours | floor |"
        f"{robust} train seconds |",
        "|---|---|---|---|---|---|" + "---|" * len(ROBUSTNESS_SETS) + "---|",
    ]

    def rows(engine: Engine, name: str, version: int) -> Iterator[str]:
        tests = store.get_evaluations(engine, name, version, kind="test")
        if not tests:
            return
        spec = CATALOG[name]
        manifest = Manifest.read(version_dir(settings.models_dir, name, version))
        ours = tests[0].data["accuracy"]
        held_out = {
            r.dataset: r.data["accuracy"]
            for r in store.get_evaluations(engine, name, version, kind=KIND_ROBUSTNESS)
        }
        robustness = "".join(f" {pct(held_out.get(s), 2)} |" for s in ROBUSTNESS_SETS)
        yield (
            f"| `{name}` | {manifest.architecture} | {manifest.training.epochs} "
            f"| {pct(spec.reference, 2)} | **{pct(ours, 2)}** | {pct(spec.floor, 2)} |"
            f"{robustness} {manifest.training.seconds:.0f} |"
        )

    return "\n".join([*header, *newest_rows(settings, rows)])


if __name__ == "__main__":
    main(markdown, __doc__)
