"""A/B: this checkout against an earlier commit, in alternating rounds, in one sitting.

    python -m benchmarks.ab --baseline REV [--rounds 3] [--seconds 10]

For changes that must keep the benchmark figures where they are (refactors): the commit
``REV`` is exported to a temporary folder (``git archive``) and both versions of layerlens
serve the same model repository, each with the same workers; the ceiling app runs beside
them. All three stay up (an idle server uses no CPU) and are driven in turn with wrk, the
order rotated every round, so each round compares the servers seconds apart rather than
the machine minutes apart (throughput here drifts by a quarter within minutes). Prints
one row per run and a table of medians, and writes JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import report
from benchmarks.baseline import baseline_spec, export
from benchmarks.loadgen import ensure_wrk
from benchmarks.models import find_saved_model
from benchmarks.payloads import test_images
from benchmarks.run import drive, server_specs, warm_up
from benchmarks.scenarios import BASELINE, CEILING, OURS, Case, cases
from benchmarks.servers import RunningServer, start
from core.settings import Settings

#: The figures a refactor must keep: the acceptance point, a PNG upload, V2 infer, and a
#: large batch.
SCENARIOS = {("predict-json", 32), ("predict-png", 32), ("v2-infer", 32), ("predict-npy-1024", 4)}
DEFAULT_OUT = Path("benchmarks/results/ab.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ab", description=__doc__)
    parser.add_argument("--baseline", required=True, help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--models-dir", type=Path, help="model repository (default: settings)")
    parser.add_argument(
        "--baseline-models-dir",
        type=Path,
        help="the baseline's own model repository, where its manifest format is older "
        "(default: the same as --models-dir)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    ensure_wrk()
    work_dir = Path(tempfile.mkdtemp(prefix="layerlens-ab-"))
    baseline_dir = export(args.baseline, work_dir)
    models_dir, saved_model, manifest = find_saved_model(
        args.models_dir or Settings().models_dir, work_dir
    )
    v2_input = manifest["endpoints"]["predict"]["inputs"][0]["name"]
    plan = [
        case
        for case in cases(test_images(Settings().data_dir), v2_input=v2_input, servers={OURS})
        if (case.scenario, case.concurrency) in SCENARIOS
    ]
    specs = server_specs(
        models_dir, saved_model, work_dir, workers=args.workers, servers={OURS, CEILING}
    )
    specs[BASELINE] = baseline_spec(specs[OURS], baseline_dir, models_dir=args.baseline_models_dir)
    servers: dict[str, RunningServer] = {}
    rows: list[dict[str, object]] = []
    try:
        for name, spec in specs.items():
            servers[name] = start(spec, log_dir=work_dir)
        for case in plan:
            for server in (servers[OURS], servers[BASELINE]):
                warm_up(server, case)
        ceiling_case = next(c for c in plan if c.scenario == "predict-json")
        warm_up(servers[CEILING], dataclasses.replace(ceiling_case, server=CEILING))
        names = [OURS, BASELINE, CEILING]
        for index in range(args.rounds):
            order = names[index % 3 :] + names[: index % 3]
            for case in plan:
                for name in order:
                    if name == CEILING and case is not ceiling_case:
                        continue
                    row = drive(servers[name], dataclasses.replace(case, server=name), args.seconds)
                    row["round"] = index
                    rows.append(row)
                    print(report.row_line(row), flush=True)
    finally:
        for server in servers.values():
            server.stop()
    summary = summarise(rows, plan)
    document = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join(["python -m benchmarks.ab", *(sys.argv[1:] if argv is None else argv)]),
        "baseline": args.baseline,
        "results": rows,
        "summary": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2))
    print(f"\n{'scenario':<22} {'req/s cur':>10} {'req/s base':>10} {'ratio':>7} "
          f"{'cpu ms cur':>11} {'cpu ms base':>12} "
          f"{'/ceiling cur':>13} {'/ceiling base':>14}")  # fmt: skip
    for line in summary:
        print(f"{line['scenario']:<22} {line['current']:>10.0f} {line['baseline']:>10.0f} "
              f"{line['ratio']:>7.3f} {line['cpu_ms_current']:>11.3f} "
              f"{line['cpu_ms_baseline']:>12.3f} "
              f"{line.get('current_to_ceiling', float('nan')):>13.3f} "
              f"{line.get('baseline_to_ceiling', float('nan')):>14.3f}")  # fmt: skip
    print(f"\nwrote {args.out}")
    return 0


def summarise(rows: list[dict[str, object]], plan: list[Case]) -> list[dict[str, object]]:
    """Median requests/s per scenario and server, the current/baseline ratio and, for the
    JSON predict point, each one's ratio to the ceiling."""

    def median(server: str, scenario: str, key: str = "requests_per_s") -> float:
        values = [float(r[key]) for r in rows  # type: ignore[arg-type]
                  if r["server"] == server and r["scenario"] == scenario]  # fmt: skip
        return statistics.median(values) if values else float("nan")

    out: list[dict[str, object]] = []
    for case in plan:
        current, baseline = median(OURS, case.scenario), median(BASELINE, case.scenario)
        line: dict[str, object] = {
            "scenario": f"{case.scenario}@{case.concurrency}",
            "current": current,
            "baseline": baseline,
            "ratio": current / baseline,
            # Server CPU per request: steadier than requests/s when other work shares the cores.
            "cpu_ms_current": median(OURS, case.scenario, "server_cpu_ms_per_request"),
            "cpu_ms_baseline": median(BASELINE, case.scenario, "server_cpu_ms_per_request"),
        }
        ceiling = median(CEILING, case.scenario)
        if not math.isnan(ceiling):  # the ceiling ran this scenario
            line["current_to_ceiling"] = current / ceiling
            line["baseline_to_ceiling"] = baseline / ceiling
        out.append(line)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
