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

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine

from core.db import KIND_OOD, store
from core.ood.scores import METHODS
from core.settings import Settings
from training.readme_tables import main, newest_rows, pct

TITLES = {"knn": "kNN", "mahalanobis": "Mahalanobis", "energy": "energy", "msp": "max softmax"}
HEADER = (
    "| model | against | "
    + " | ".join(TITLES[m] for m in METHODS)
    + " |\n|---|---|"
    + "---|" * len(METHODS)
)
ORDER = {"synthetic": 1, "canvas": 2, "writers": 3}


def markdown(settings: Settings) -> str:
    return "\n".join([HEADER, *newest_rows(settings, _rows)])


def _rows(engine: Engine, name: str, version: int) -> Iterator[str]:
    rows = store.get_evaluations(engine, name, version, kind=KIND_OOD)
    for row in sorted(rows, key=lambda r: (ORDER.get(r.dataset, 0), r.dataset)):
        yield f"| `{name}` | {_against(row.dataset, row.data)} | {_cells(row.data)} |"


def _against(dataset: str, data: dict[str, Any]) -> str:
    if data.get("flag_only"):
        return f"{dataset} ({data['num_out']:,}): share flagged"
    return f"{dataset} ({data['num_out']:,})"


def _cells(data: dict[str, Any]) -> str:
    cells = []
    for method in METHODS:
        m = data["methods"][method]
        if data.get("flag_only"):
            text = pct(m["flagged_out"])
        else:
            text = f"{m['auroc']:.4f} / {pct(m['fpr_at_95_tpr'])}"
        cells.append(f"**{text}**" if method == data["default_method"] else text)
    return " | ".join(cells)


if __name__ == "__main__":
    main(markdown, __doc__)
