"""The README's accuracy table, printed from a real (tiny) repository's database."""

from __future__ import annotations

from typing import Any

from core.datasets import ROBUSTNESS_SETS
from core.db import KIND_ROBUSTNESS, make_engine, store
from scripts.results_table import markdown


def test_the_table_has_a_robustness_column_per_set_from_the_database(
    model_repository: Any,
) -> None:
    table = markdown(model_repository.settings()).splitlines()
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    assert header[6 : 6 + len(ROBUSTNESS_SETS)] == list(ROBUSTNESS_SETS)
    rows = {line.split("|")[1].strip(" `"): line for line in table[2:]}
    assert set(rows) == set(model_repository.models)
    engine = make_engine(model_repository.database_url)
    try:
        stored = {
            r.dataset: r.data["accuracy"]
            for r in store.get_evaluations(engine, "digits", 2, kind=KIND_ROBUSTNESS)
        }
    finally:
        engine.dispose()
    cells = [c.strip() for c in rows["digits"].strip("|").split("|")]
    for offset, name in enumerate(ROBUSTNESS_SETS):
        assert cells[6 + offset] == f"{100 * stored[name]:.2f}%"
    fashion = [c.strip() for c in rows["fashion"].strip("|").split("|")]
    assert fashion[6 : 6 + len(ROBUSTNESS_SETS)] == ["-"] * len(ROBUSTNESS_SETS)
