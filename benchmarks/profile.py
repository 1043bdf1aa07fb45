"""Where does a layerlens worker spend its time under load? py-spy, summarised.

    python -m benchmarks.profile [--seconds 10] [--models-dir DIR] [--path ROUTE]
        [--connections N]

Starts layerlens like the benchmark does, drives one route with the one-image JSON body
with wrk (single-image predict at 32 connections by default; for example ``--path
'/v1/models/digits-cnn:explain?steps=50' --connections 4``), and samples every worker
with ``py-spy record --subprocesses`` (py-spy is installed into benchmarks/.venv-peer,
not into layerlens). Prints the share
of samples by the innermost layerlens/library function and writes the raw stacks
(flame-graph input) next to the results.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import tempfile
import threading
from pathlib import Path

from benchmarks.loadgen import run_wrk
from benchmarks.models import find_saved_model
from benchmarks.payloads import predict_json, test_images
from benchmarks.peer.setup import VENV, ensure_venv
from benchmarks.run import server_specs
from benchmarks.scenarios import OURS
from benchmarks.servers import start
from core.settings import Settings

OUT_DIR = Path("benchmarks/results")


def py_spy(given: Path | None = None) -> Path:
    """``given``, else py-spy in the peer venv (installed there on first use)."""
    if given is not None:
        return given
    ensure_venv()
    binary = VENV / "bin" / "py-spy"
    if not binary.exists():
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "py-spy"], check=True)
    return binary


#: Leaf frames where a thread waits (idle executor threads, the GIL, uvloop's epoll).
WAITING = ("Condition.wait", "_worker (concurrent", "Condition._acquire_restore", "Runner.run")


def summarise(raw: Path, top: int = 25) -> list[tuple[str, float]]:
    """Self time by function (the frame on top of each stack), as a share of all samples.

    Frames where a thread only waits are pooled into one line, so the rest reads as
    where the CPU goes. ``Runner.run`` is uvloop's C loop: socket I/O and epoll waits.
    """
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        leaf = stack.split(";")[-1]
        if leaf.startswith(WAITING):
            leaf = "(waiting: idle threads, GIL, uvloop I/O + epoll in C)"
        counts[leaf] += int(samples)
        total += int(samples)
    return [(name, round(100 * n / total, 1)) for name, n in counts.most_common(top)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--models-dir", type=Path)
    parser.add_argument("--py-spy", type=Path, help="a py-spy binary (default: the peer venv's)")
    parser.add_argument(
        "--path",
        default="/v1/models/digits:predict",
        help="the route driven with the one-image JSON body, e.g. "
        "'/v1/models/digits-cnn:explain?steps=50'",
    )
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="layerlens-profile-"))
    models_dir, saved_model, _ = find_saved_model(
        args.models_dir or Settings().models_dir, work_dir
    )
    spec = server_specs(models_dir, saved_model, work_dir, workers=2, servers={OURS})[OURS]
    body = predict_json(test_images(Settings().data_dir)[0])
    server = start(spec, log_dir=work_dir)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    route = args.path.rsplit("/", 1)[-1].split("?")[0].replace(":", "-")
    raw = OUT_DIR / f"profile-{route}.txt"
    try:
        url = server.base_url + args.path
        run_wrk(url, body, connections=args.connections, seconds=2)  # warm up
        load = threading.Thread(
            target=run_wrk,
            args=(url, body),
            kwargs={"connections": args.connections, "seconds": args.seconds + 2},
        )
        load.start()
        record = [str(py_spy(args.py_spy)), "record", "--pid", str(server.process.pid),
                  "--subprocesses", "--nonblocking", "--format", "raw",
                  "--duration", str(int(args.seconds)), "--output", str(raw)]  # fmt: skip
        subprocess.run(record, check=True, capture_output=True)
        load.join()
    finally:
        server.stop()
    print(f"{'self %':>7}  function (file:line)")
    for name, share in summarise(raw):
        print(f"{share:>7.1f}  {name}")
    print(f"\nraw stacks: {raw}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
