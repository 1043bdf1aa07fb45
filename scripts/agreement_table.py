"""Print the README's neighbour-agreement table from a metrics database.

python scripts/agreement_table.py [--database-url URL] [--models-dir DIR]

One row per image model and dataset (its own test split, then the cross dataset): how
often the 8 nearest training examples' majority agrees with the prediction, the accuracy
when it does and when it does not, and the agreement among predictions the softmax is
at least 99% sure of.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Engine

from core.db import KIND_AGREEMENT, store
from core.settings import Settings
from training.readme_tables import main, newest_rows, pct
from training.recipes import CATALOG

HEADER = (
    "| model | images | k | majority agrees | accuracy when it agrees | when it disagrees "
    "| softmax >= 0.99 | agreement when >= 0.99 |"
)


def markdown(settings: Settings) -> str:
    return "\n".join([HEADER, "|---|---|---|---|---|---|---|---|", *newest_rows(settings, _rows)])


def _rows(engine: Engine, name: str, version: int) -> Iterator[str]:
    rows = store.get_evaluations(engine, name, version, kind=KIND_AGREEMENT)
    own = [r for r in rows if r.dataset.startswith(CATALOG[name].dataset + "-")]
    for row in own + [r for r in rows if r not in own]:
        d = row.data
        yield (
            f"| `{name}` | {row.dataset} ({d['num_examples']:,}) | {d['k']} "
            f"| {pct(d['majority_agrees'])} "
            f"| {pct(d.get('accuracy_when_majority_agrees'))} "
            f"| {pct(d.get('accuracy_when_majority_disagrees'))} "
            f"| {pct(d['confident_share'])} "
            f"| {pct(d['majority_agrees_when_confident'])} |"
        )


if __name__ == "__main__":
    main(markdown, __doc__)
