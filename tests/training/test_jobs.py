"""`layerlens-train train --jobs N`: several models at once, each in its own process.

What a user relies on: the same models, versions and metrics as one at a time; the summary
in the order asked for; Ctrl-C or `kill` stopping every worker, not only the parent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.db import make_engine, store
from core.training_status import STATUS_FILE
from training.jobs import MAX_JOBS, job_count, longest_first, threads_per_job


def test_jobs_default_to_one_per_core_and_never_outnumber_the_models() -> None:
    assert job_count(0, models=14, cpus=2) == 2
    assert job_count(0, models=14, cpus=64) == MAX_JOBS
    assert job_count(0, models=1, cpus=8) == 1
    assert job_count(0, models=0, cpus=8) == 1
    assert job_count(3, models=14, cpus=2) == 3  # asked for: more than the cores is allowed
    assert job_count(3, models=2, cpus=2) == 2


def test_each_job_gets_an_equal_share_of_the_cores() -> None:
    assert threads_per_job(2, cpus=2) == 1
    assert threads_per_job(4, cpus=8) == 2
    assert threads_per_job(3, cpus=2) == 1


def test_convolutional_recipes_are_handed_out_first() -> None:
    order = longest_first(["xor", "digits", "fashion-cnn", "sklearn-digits", "digits-cnn"])
    assert set(order[:2]) == {"digits-cnn", "fashion-cnn"}
    assert order[-1] in {"xor", "sklearn-digits"}


def _train(tmp: Path, data_dir: Path, jobs: int, models: list[str]) -> subprocess.Popen:
    options = {
        "--profile": "quick",
        "--jobs": str(jobs),
        "--models-dir": str(tmp / "models"),
        "--data-dir": str(data_dir),
        "--database-url": f"sqlite:///{tmp / 'metrics.db'}",
        "--json": str(tmp / "summary.json"),
    }
    command = [sys.executable, "-m", "training", "train", *models]
    command += [part for option in options.items() for part in option]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _test_evaluations(tmp: Path, models: list[str]) -> dict[str, dict]:
    engine = make_engine(f"sqlite:///{tmp / 'metrics.db'}")
    try:
        return {
            name: store.get_evaluations(engine, name, 1, kind="test")[0].data for name in models
        }
    finally:
        engine.dispose()


def test_two_jobs_store_what_one_job_stores(tmp_path: Path, data_dir: Path) -> None:
    models = ["xor", "sklearn-digits", "sklearn-digits-mlp"]
    runs = {}
    for jobs in (1, 2):
        folder = tmp_path / f"jobs{jobs}"
        process = _train(folder, data_dir, jobs, models)
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output[-3000:]
        summary = json.loads((folder / "summary.json").read_text())
        assert [row["model"] for row in summary["models"]] == models  # the order asked for
        assert {row["status"] for row in summary["models"]} == {"trained"}
        assert not (folder / "models" / STATUS_FILE).exists()
        runs[jobs] = (summary, _test_evaluations(folder, models), output)
    assert "2 jobs, " in runs[2][2] and "jobs, " not in runs[1][2]
    accuracies = {
        jobs: [row["test_accuracy"] for row in summary["models"]]
        for jobs, (summary, _, _) in runs.items()
    }
    assert accuracies[1] == accuracies[2]
    assert runs[1][1] == runs[2][1]  # every stored test metric, not only the accuracy


def _children(pid: int) -> set[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], check=False, capture_output=True, text=True)
    return {int(line) for line in found.stdout.split()}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:  # gone since pgrep saw it
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopping_the_trainer_stops_its_workers(
    tmp_path: Path, data_dir: Path, signum: int
) -> None:
    process = _train(tmp_path, data_dir, 2, ["digits-cnn", "fashion", "digits"])
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while time.monotonic() < deadline and len(workers) < 2:
        # The pool's workers (the spawn context also starts a resource tracker).
        workers = {pid for pid in _children(process.pid) if "spawn_main" in _cmdline(pid)}
        time.sleep(0.5)
    assert len(workers) == 2, "the trainer did not start two workers"
    time.sleep(3)  # into their first model
    process.send_signal(signum)
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers), output[-2000:]
    assert not (tmp_path / "models" / STATUS_FILE).exists()
