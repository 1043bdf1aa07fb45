"""What the scripts that print the README's tables from a metrics database share
(``scripts/results_table.py``, ``agreement_table.py``, ``ood_table.py``): one walk over the
newest version of each catalogue model, one command line (``--database-url``,
``--models-dir``, else the settings' defaults) and one way to write a share. It lives in an
installed package so that ``python scripts/X_table.py`` finds it."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable

from sqlalchemy import Engine

from core.db import make_engine
from core.manifest import versions_on_disk
from core.settings import Settings
from training.recipes import CATALOG

#: A table's rows for one model version: (engine, model name, version) -> its lines.
Rows = Callable[[Engine, str, int], Iterable[str]]


def pct(value: float | None, places: int = 1) -> str:
    """A share as a percentage; "-" where there is no figure."""
    return "-" if value is None else f"{100 * value:.{places}f}%"


def newest_rows(settings: Settings, rows: Rows) -> list[str]:
    """``rows`` of the newest version on disk of each catalogue model, in catalogue order."""
    engine = make_engine(settings.database_url)
    versions = versions_on_disk(settings.models_dir)
    try:
        return [
            line for name in CATALOG if name in versions
            for line in rows(engine, name, versions[name][-1])
        ]  # fmt: skip
    finally:
        engine.dispose()


def main(markdown: Callable[[Settings], str], description: str | None) -> None:
    """Parse the command line, print ``markdown`` of the settings it names."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database-url")
    parser.add_argument("--models-dir")
    args = parser.parse_args()
    given = {"database_url": args.database_url, "models_dir": args.models_dir}
    print(markdown(Settings(**{k: v for k, v in given.items() if v})))
