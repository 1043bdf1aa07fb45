"""What the scripts that print the README's tables from a metrics database share
(``scripts/results_table.py``, ``agreement_table.py``, ``ood_table.py``): one command line
(``--database-url``, ``--models-dir``, else the settings' defaults) and one way to write a
share. It lives in an installed package so that ``python scripts/X_table.py`` finds it."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from core.settings import Settings


def pct(value: float | None, places: int = 1) -> str:
    """A share as a percentage; "-" where there is no figure."""
    return "-" if value is None else f"{100 * value:.{places}f}%"


def main(markdown: Callable[[Settings], str], description: str | None) -> None:
    """Parse the command line, print ``markdown`` of the settings it names."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database-url")
    parser.add_argument("--models-dir")
    args = parser.parse_args()
    given = {"database_url": args.database_url, "models_dir": args.models_dir}
    print(markdown(Settings(**{k: v for k, v in given.items() if v})))
