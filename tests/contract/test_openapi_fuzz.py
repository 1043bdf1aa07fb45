"""The OpenAPI document tells the truth: schemathesis (its CLI, version pinned in pyproject)
fuzzes every documented operation of a live server and checks each answer against it.

The checks: no 5xx, every status and content type documented, response bodies and
headers as documented, and invalid input (by the schema) refused with a 4xx. The run is
bounded in time (``FUZZ_SECONDS``); a failure prints schemathesis' own report, with the
request that reproduces it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures.server import API_KEY, LiveServer

FUZZ_SECONDS = int(os.environ.get("LAYERLENS_FUZZ_SECONDS", "120"))
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
)


def test_schemathesis_finds_no_failure_in_any_operation(
    live_server: LiveServer, tmp_path: Path
) -> None:
    cli = Path(sys.executable).with_name("schemathesis")
    command = [
        str(cli),
        "run",
        f"{live_server.url}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--max-time",
        str(FUZZ_SECONDS),
        # One worker: CPython 3.11.7's ast module is not thread-safe (gh-106905), and
        # hypothesis parses lambdas with it from every worker thread.
        "--workers",
        "1",
        # The admin route is fuzzed past its key check too.
        "--header",
        f"X-API-Key: {API_KEY}",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--seed",
        "20261128",
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=FUZZ_SECONDS + 240,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"},
    )
    report = result.stdout[-12_000:] + result.stderr[-4_000:]
    assert result.returncode == 0, report
