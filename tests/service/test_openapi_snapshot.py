"""The published OpenAPI document changes only on purpose (tests/service/openapi_snapshot.py)."""

from __future__ import annotations

import json

from tests.service.openapi_snapshot import SNAPSHOT, current_document


def _paths_differing(a: dict, b: dict) -> list[str]:
    names = set(a.get("paths", {})) | set(b.get("paths", {}))
    return sorted(n for n in names if a.get("paths", {}).get(n) != b.get("paths", {}).get(n))


def test_openapi_document_is_unchanged() -> None:
    stored = json.loads(SNAPSHOT.read_text())
    current = json.loads(json.dumps(current_document()))  # tuples -> lists, as served
    assert current == stored, (
        "the OpenAPI document changed (paths: "
        f"{_paths_differing(current, stored) or 'none; components or info'}); if on purpose, "
        "run `python -m tests.service.openapi_snapshot` and review the diff"
    )
