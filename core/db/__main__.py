"""``python -m core.db upgrade|current [--url URL]``: migrate or inspect the metrics database.

Without ``--url`` the URL comes from Settings (``LAYERLENS_DATABASE_URL`` / ``DATABASE_URL``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from core.db.migrate import current, head_revision, upgrade
from core.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.db", description=__doc__)
    parser.add_argument("command", choices=["upgrade", "current"])
    parser.add_argument("--url", help="database URL (default: from the settings)")
    args = parser.parse_args(argv)
    url = args.url or Settings().database_url
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        if args.command == "upgrade":
            revision = upgrade(url)
            print(f"{shown}: at revision {revision} (head {head_revision()})")
        else:
            revision = current(url)
            print(revision if revision else "none (no migrations applied)")
    except (SQLAlchemyError, ValueError) as error:
        print(f"error: {shown}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
