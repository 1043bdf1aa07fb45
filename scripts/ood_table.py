"""Print the README's out-of-distribution table from a metrics database.

python scripts/ood_table.py [--database-url URL] [--models-dir DIR]

One row per model and set scored against its test split (the other dataset's test split,
then the synthetic far-out inputs, then, for digits models, the canvas-drawn and other
writers' digits). Per method: AUROC / FPR at 95% TPR, or for the sets a person would call
in-distribution (canvas, writers) the share the calibrated threshold flags. The default
method (chosen on the validation split against proxies made from it) is in bold;
``msp`` is the baseline.
"""

from __future__ import annotations

import argparse
from typing import Any

from core.db import KIND_OOD, make_engine, store
from core.manifest import versions_on_disk
from core.ood.scores import METHODS
from core.settings import Settings
from training.recipes import CATALOG

TITLES = {"knn": "kNN", "mahalanobis": "Mahalanobis", "energy": "energy", "msp": "max softmax"}
HEADER = (
    "| model | against | "
    + " | ".join(TITLES[m] for m in METHODS)
    + " |\n|---|---|"
    + "---|" * len(METHODS)
)
ORDER = {"synthetic": 1, "canvas": 2, "writers": 3}


def markdown(settings: Settings) -> str:
    engine = make_engine(settings.database_url)
    versions = versions_on_disk(settings.models_dir)
    lines = [HEADER]
    try:
        for name in CATALOG:
            if name not in versions:
                continue
            rows = store.get_evaluations(engine, name, versions[name][-1], kind=KIND_OOD)
            for row in sorted(rows, key=lambda r: (ORDER.get(r.dataset, 0), r.dataset)):
                lines.append(
                    f"| `{name}` | {_against(row.dataset, row.data)} | {_cells(row.data)} |"
                )
    finally:
        engine.dispose()
    return "\n".join(lines)


def _against(dataset: str, data: dict[str, Any]) -> str:
    if data.get("flag_only"):
        return f"{dataset} ({data['num_out']:,}): share flagged"
    return f"{dataset} ({data['num_out']:,})"


def _cells(data: dict[str, Any]) -> str:
    cells = []
    for method in METHODS:
        m = data["methods"][method]
        if data.get("flag_only"):
            text = _pct(m["flagged_out"])
        else:
            text = f"{m['auroc']:.4f} / {_pct(m['fpr_at_95_tpr'])}"
        cells.append(f"**{text}**" if method == data["default_method"] else text)
    return " | ".join(cells)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--models-dir")
    args = parser.parse_args()
    given = {"database_url": args.database_url, "models_dir": args.models_dir}
    print(markdown(Settings(**{k: v for k, v in given.items() if v})))
