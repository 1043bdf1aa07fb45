"""The full-size run's out-of-distribution verdict meets the trust issue's targets, with each
version's default method (the one a client gets without asking), as stored by the trainer."""

from __future__ import annotations

import pytest

from core.db import KIND_OOD, make_engine, store
from core.manifest import versions_on_disk
from tests.fixtures.models import ModelRepository

pytestmark = pytest.mark.slow

#: (model, the other dataset's test split, the least AUROC against it with the default).
AGAINST = [
    ("digits", "fashion-mnist-test", 0.99),
    ("digits-cnn", "fashion-mnist-test", 0.99),
    ("fashion", "mnist-test", 0.95),
]
#: At most this share of the digits a person drew on the page's pad is flagged.
CANVAS_FLAGGED = 0.05


def _ood_rows(repo: ModelRepository, name: str) -> dict[str, dict]:
    engine = make_engine(repo.database_url)
    try:
        latest = versions_on_disk(repo.models_dir)[name][-1]
        rows = store.get_evaluations(engine, name, latest, kind=KIND_OOD)
    finally:
        engine.dispose()
    return {row.dataset: row.data for row in rows}


@pytest.mark.parametrize(("name", "against", "least"), AGAINST)
def test_the_default_method_tells_the_other_dataset_apart(
    full_repository: ModelRepository, name: str, against: str, least: float
) -> None:
    row = _ood_rows(full_repository, name)[against]
    default = row["default_method"]
    auroc = row["methods"][default]["auroc"]
    print(f"{name} vs {against}: {default} AUROC {auroc:.4f}")
    assert auroc >= least
    assert auroc > row["methods"]["msp"]["auroc"]  # the verdict adds to the baseline


@pytest.mark.parametrize("name", ["digits", "digits-cnn"])
def test_few_drawn_digits_are_flagged(full_repository: ModelRepository, name: str) -> None:
    row = _ood_rows(full_repository, name)["canvas"]
    flagged = row["methods"][row["default_method"]]["flagged_out"]
    print(f"{name}: {flagged:.1%} of canvas digits flagged")
    assert flagged <= CANVAS_FLAGGED
