"""The OpenAPI document as published, kept in ``tests/service/openapi.json`` so that a change
to it is a reviewed change: ``test_openapi_document_is_unchanged`` fails on any difference.

After a deliberate change of the API: ``python -m tests.service.openapi_snapshot`` rewrites
the file; the diff is what users of the API will see.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).with_name("openapi.json")


def current_document() -> dict[str, Any]:
    """The document of an app built with default settings (no model needs to be loaded:
    the document does not depend on what the repository holds)."""
    from core.settings import Settings
    from service.app import create_app

    with tempfile.TemporaryDirectory() as root:
        settings = Settings(
            models_dir=Path(root) / "models",
            database_url=f"sqlite:///{Path(root) / 'metrics.db'}",
            grpc_enabled=False,
        )
        return create_app(settings).openapi()


def write() -> None:
    SNAPSHOT.write_text(json.dumps(current_document(), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    write()
    print(f"wrote {SNAPSHOT}")
