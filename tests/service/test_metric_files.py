"""The workers' metrics files on a full file system (service.metric_files).

Each case runs in a fresh interpreter: prometheus-client chooses its multiprocess values
from ``PROMETHEUS_MULTIPROC_DIR`` at import. Before the space was reserved, the first
case died of SIGBUS (exit -7) with no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REFUSED = "the metrics folder refused a value"

TELEMETRY = """
from pathlib import Path
from service.logs import configure_logging
from service.telemetry import Telemetry
configure_logging(level="info", fmt="text")
telemetry = Telemetry(multiprocess_dir=Path({folder!r}))
for _ in range(3):
    telemetry.observe_request("POST", "/predict", "digits", 200, 0.01)
print(telemetry.requests.labels("POST", "/predict", "digits", "200")._value.get())
print(telemetry.render().decode())
"""

GROWTH = """
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from service import metric_files
from service.telemetry import Telemetry  # installs the reserved files
from prometheus_client import Counter
counter = Counter("grown", "one series per label", ["key"])
for index in range(2000):
    counter.labels(f"{{index:040d}}").inc()
merged = CollectorRegistry()
MultiProcessCollector(merged, path={folder!r})
text = generate_latest(merged).decode()
print(sum(line.startswith("grown_total{{") for line in text.splitlines()))
print(metric_files.unshared_values())
"""


def _run(script: str, folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", script.format(folder=str(folder))]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_full_folder_keeps_the_values_in_memory_and_says_so_once(
    small_tmpfs: Callable[[int, int], Path],
) -> None:
    folder = small_tmpfs(64, 0)
    done = _run(TELEMETRY, folder)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    lines = done.stdout.splitlines()
    assert lines[0] == "3.0"  # the worker's own count goes on
    unshared = [line for line in lines if line.startswith("layerlens_metrics_unshared_values ")]
    assert unshared and float(unshared[0].split()[1]) > 0
    assert done.stderr.count(REFUSED) == 1, done.stderr
    assert "No space left on device" in done.stderr and "Traceback" in done.stderr
    assert list(folder.glob("*.db")) == []  # nothing half-made for a scrape to choke on


def test_a_file_that_cannot_grow_keeps_what_it_holds_and_the_rest_in_memory(
    small_tmpfs: Callable[[int, int], Path],
) -> None:
    folder = small_tmpfs(128, 64)  # room for the first 64 KiB of one file, not for more
    done = _run(GROWTH, folder)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    in_file, unshared = (int(value) for value in done.stdout.split())
    assert 0 < in_file < 2000
    assert in_file + unshared == 2000
    assert done.stderr.count(REFUSED) == 1


def test_a_folder_that_is_gone_is_a_refusal_too(tmp_path: Path) -> None:
    done = _run(TELEMETRY, tmp_path / "removed")
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert done.stdout.splitlines()[0] == "3.0"
    assert done.stderr.count(REFUSED) == 1
    assert "No such file or directory" in done.stderr
    # the scrape cannot merge a folder that is gone: it reports this process's own values
    assert 'layerlens_requests_total{method="POST"' in done.stdout
    assert "reports the answering worker only" in done.stderr
