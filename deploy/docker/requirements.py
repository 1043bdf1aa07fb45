"""Print the third-party requirements of pyproject.toml extras, one a line, for pip -r.

Why: the image installs its dependencies in a layer of their own, built from pyproject.toml
alone, so that editing the source does not re-download TensorFlow. pip cannot install only
the dependencies of a project, and ``layerlens[core]`` style self-references must be
resolved, hence this script (standard library only: it runs before anything is installed).

    python requirements.py serve            # base dependencies + the serve extra
    python requirements.py train --minus serve   # what train adds on top of serve
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

_SELF_REFERENCE = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)\[(?P<extras>[^\]]+)\]\s*$")


def requirements(project: dict, extras: list[str]) -> list[str]:
    """Base dependencies plus those of ``extras``, self-references expanded, order kept."""
    name = project["name"]
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    found: list[str] = list(project.get("dependencies", []))
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop(0)
        if extra in seen:
            continue
        if extra not in optional:
            raise SystemExit(f"pyproject.toml has no extra named {extra!r}")
        seen.add(extra)
        for requirement in optional[extra]:
            match = _SELF_REFERENCE.match(requirement)
            if match and match["name"] == name:
                pending.extend(e.strip() for e in match["extras"].split(","))
            else:
                found.append(requirement)
    return list(dict.fromkeys(found))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extras", nargs="+", help="extras to include, e.g. serve")
    parser.add_argument("--minus", nargs="*", default=[], help="extras already installed")
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    args = parser.parse_args(argv)
    project = tomllib.loads(args.pyproject.read_text(encoding="utf-8"))["project"]
    already = set(requirements(project, args.minus)) if args.minus else set()
    wanted = [r for r in requirements(project, args.extras) if r not in already]
    sys.stdout.write("".join(f"{r}\n" for r in wanted))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
