#!/usr/bin/env python
"""Container healthcheck: exit 0 when the API answers ready on its own port, else 1.

Why a script: slim images carry no curl, and the port comes from the same Settings the
server reads (LAYERLENS_PORT), so the check follows the server wherever it is configured.
Readiness, not liveness: a replica still loading models, or draining after SIGTERM, must
not receive traffic.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from core.settings import Settings

READY_PATH = "/v2/health/ready"
TIMEOUT_S = 4.0


def main() -> int:
    url = f"http://127.0.0.1:{Settings().port}{READY_PATH}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            ok = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"not ready: {url}: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
