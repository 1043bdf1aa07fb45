"""Print the README's "reports vs ours" table from a metrics database.

python scripts/results_table.py [--database-url URL] [--models-dir DIR]
"""

from __future__ import annotations

import argparse

from core.db import make_engine, store
from core.manifest import Manifest, version_dir, versions_on_disk
from core.settings import Settings
from training.recipes import CATALOG


def markdown(settings: Settings) -> str:
    engine = make_engine(settings.database_url)
    versions = versions_on_disk(settings.models_dir)
    lines = [
        "| model | network | epochs | report's test accuracy | ours | floor | train seconds |",
        "|---|---|---|---|---|---|---|",
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
            lines.append(
                f"| `{name}` | {manifest.architecture} | {manifest.training.epochs} "
                f"| {_pct(spec.reference)} | **{_pct(ours)}** | {_pct(spec.floor)} "
                f"| {manifest.training.seconds:.0f} |"
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
