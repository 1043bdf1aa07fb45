"""The printed table and the acceptance figures, both computed from one run's rows."""

from __future__ import annotations

import statistics

from benchmarks import scenarios
from benchmarks.scenarios import ACCEPTANCE_CONCURRENCY, CEILING, OURS, PAIRED

Row = dict[str, object]

#: Every server a run can drive: layerlens first, then the ones it is compared with.
SERVERS = (OURS, CEILING, scenarios.CEILING_PYDANTIC, scenarios.NAIVE, scenarios.PEER)

#: The issues' acceptance thresholds (13 and 23).
MIN_VS_CEILING = 0.85
MIN_VS_NAIVE = 50.0
MIN_VS_PEER = 1.5
MAX_P99_MS = 25.0
MIN_NPY_IMAGES_PER_S = 50_000.0
MAX_WORKER_RSS_MB = 1200.0
MAX_READY_S = 15.0
#: Issue 23: a one-PNG upload against JSON at 32 connections; many PNGs per request.
MIN_PNG_VS_JSON = 0.8
MIN_PNG50_IMAGES_PER_S = 20_000.0
#: Issue 23: the why-answers against the baseline commit's rate (``--baseline REV``).
MIN_SPEEDUP = {"explain-ig-50": 4.0, "explain-ig-50-cnn": 4.0, "neighbors-k8": 3.0}

_HEADER = (
    f"{'scenario':<20}{'server':<17}{'conc':>5}{'req/s':>10}{'images/s':>11}"
    f"{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'cpu ms/req':>12}"
)


def row_line(row: Row) -> str:
    if row.get("failed"):
        return (
            f"{row['scenario']:<20}{row['server']:<17}{row['concurrency']:>5}  FAILED: "
            f"{row['error']}"
            + (f" | log: {row['log_last_line']}" if row.get("log_last_line") else "")
        )
    return (
        f"{row['scenario']:<20}{row['server']:<17}{row['concurrency']:>5}"
        f"{row['requests_per_s']:>10,.0f}{row['images_per_s']:>11,.0f}"
        f"{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{row['errors']:>8}"
        f"{row.get('server_cpu_ms_per_request', float('nan')):>12.3f}"
    )


def _find(
    rows: list[Row], scenario: str, server: str, concurrency: int | None = None
) -> Row | None:
    for row in rows:
        if (
            not row.get("failed")
            and row["scenario"] == scenario
            and row["server"] == server
            and (concurrency is None or row["concurrency"] == concurrency)
        ):
            return row
    return None


def _check(value: float | None, limit: float, *, at_least: bool) -> dict[str, object]:
    ok = value is not None and (value >= limit if at_least else value <= limit)
    return {"value": value, "limit": limit, "ok": ok}


def _number(row: Row, key: str) -> float:
    return float(row[key])  # type: ignore[arg-type]


def paired_ratio(rows: list[Row]) -> dict[str, object] | None:
    """Median over the alternating rounds of layerlens / ceiling (req/s, and CPU per request)."""
    rounds: dict[object, dict[str, Row]] = {}
    for row in rows:
        if row["scenario"] == PAIRED and not row.get("failed"):
            rounds.setdefault(row["round"], {})[str(row["server"])] = row
    pairs = [r for r in rounds.values() if OURS in r and CEILING in r]
    if not pairs:
        return None
    throughput = [_number(r[OURS], "requests_per_s") / _number(r[CEILING], "requests_per_s")
                  for r in pairs]  # fmt: skip
    cpu_key = "server_cpu_ms_per_request"
    cpu = [_number(r[CEILING], cpu_key) / _number(r[OURS], cpu_key) for r in pairs]
    return {
        "rounds": len(pairs),
        "throughput_ratios": [round(x, 3) for x in throughput],
        "throughput_ratio_median": round(statistics.median(throughput), 3),
        "cpu_per_request_ratio_median": round(statistics.median(cpu), 3),
    }


def round_ratios(
    rows: list[Row], scenario: str, server: str, other: str, *, cpu: bool = False
) -> list[float]:
    """Per alternating round: ``server``'s req/s over ``other``'s in ``scenario``; with
    ``cpu``, ``other``'s server CPU per request over ``server``'s (steadier when other
    work shares the cores)."""
    rounds: dict[object, dict[str, Row]] = {}
    for row in rows:
        if row["scenario"] == scenario and "round" in row and not row.get("failed"):
            rounds.setdefault(row["round"], {})[str(row["server"])] = row
    key = "server_cpu_ms_per_request" if cpu else "requests_per_s"
    pairs = [(r[server], r[other]) for r in rounds.values() if server in r and other in r]
    if cpu:
        pairs = [(b, a) for a, b in pairs]
    return [_number(a, key) / _number(b, key) for a, b in pairs if _number(b, key)]


def _png_pairs(rows: list[Row]) -> list[float]:
    """Per alternating round: layerlens' one-PNG uploads / its JSON predict, req/s."""
    json_rows = {r["round"]: r for r in rows if r["scenario"] == PAIRED and r["server"] == OURS
                 and not r.get("failed")}  # fmt: skip
    return [
        _number(r, "requests_per_s") / _number(json_rows[r["round"]], "requests_per_s")
        for r in rows
        if r["scenario"] == scenarios.PAIRED_PNG and not r.get("failed") and r["round"] in json_rows
    ]


def acceptance(rows: list[Row], servers: dict[str, dict[str, object]]) -> tuple[dict, dict]:
    c = ACCEPTANCE_CONCURRENCY
    ours = _find(rows, "predict-json", OURS, c)
    rps = {
        name: (_find(rows, "predict-json", name, c) or {}).get("requests_per_s") for name in SERVERS
    }

    def ratio(other: str) -> float | None:
        return round(rps[OURS] / rps[other], 2) if rps[OURS] and rps[other] else None

    ratios: dict[str, object] = {f"vs_{name}": ratio(name) for name in SERVERS if name != OURS}
    paired = paired_ratio(rows)
    if paired is not None:
        # Back-to-back pairs are what the ceiling check reads; the single rows above
        # were measured minutes apart.
        ratios["vs_ceiling_single_rows"] = ratios["vs_ceiling"]
        ratios["vs_ceiling"] = paired["throughput_ratio_median"]
        ratios["ceiling_pairs"] = paired
    png = _find(rows, "predict-png", OURS, c)
    ratios["png_vs_json"] = (
        round(_number(png, "requests_per_s") / rps[OURS], 3) if png and rps[OURS] else None
    )
    png_pairs = _png_pairs(rows)
    if png_pairs:  # seconds apart in each round: what the check reads
        ratios["png_vs_json_single_rows"] = ratios["png_vs_json"]
        ratios["png_vs_json_rounds"] = [round(x, 3) for x in png_pairs]
        ratios["png_vs_json"] = round(statistics.median(png_pairs), 3)
    png50 = _find(rows, f"predict-png-{scenarios.MANY_PNGS}", OURS)
    for scenario in MIN_SPEEDUP:
        rounds = round_ratios(rows, scenario, OURS, scenarios.BASELINE)
        ratios[f"{scenario}_vs_baseline"] = round(statistics.median(rounds), 2) if rounds else None
        if rounds:
            ratios[f"{scenario}_vs_baseline_rounds"] = [round(x, 2) for x in rounds]
            by_cpu = round_ratios(rows, scenario, OURS, scenarios.BASELINE, cpu=True)
            ratios[f"{scenario}_vs_baseline_by_cpu"] = round(statistics.median(by_cpu), 2)
    npy = _find(rows, "predict-npy-1024", OURS)
    mine = servers.get(OURS, {})
    checks = {
        "json_vs_ceiling": _check(ratios["vs_ceiling"], MIN_VS_CEILING, at_least=True),
        "json_vs_naive": _check(ratios["vs_naive"], MIN_VS_NAIVE, at_least=True),
        "json_vs_peer": _check(ratios["vs_mlserver"], MIN_VS_PEER, at_least=True),
        "json_p99_ms": _check(ours["p99_ms"] if ours else None, MAX_P99_MS, at_least=False),
        "npy_images_per_s": _check(
            npy and npy["images_per_s"], MIN_NPY_IMAGES_PER_S, at_least=True
        ),
        "worker_rss_mb": _check(mine.get("per_worker_rss_mb"), MAX_WORKER_RSS_MB, at_least=False),
        "ready_s": _check(mine.get("ready_s"), MAX_READY_S, at_least=False),
        "png_vs_json": _check(ratios["png_vs_json"], MIN_PNG_VS_JSON, at_least=True),
        f"png{scenarios.MANY_PNGS}_images_per_s": _check(
            png50["images_per_s"] if png50 else None, MIN_PNG50_IMAGES_PER_S, at_least=True
        ),
        **{
            f"{scenario}_vs_baseline": _check(
                ratios[f"{scenario}_vs_baseline"], limit, at_least=True
            )
            for scenario, limit in MIN_SPEEDUP.items()
        },
    }
    return ratios, checks


def table(rows: list[Row], servers: dict, ratios: dict, checks: dict) -> str:
    lines = ["", _HEADER, "-" * len(_HEADER), *(row_line(r) for r in rows), ""]
    lines.append(f"{'server':<17}{'ready s':>9}{'settled s':>11}{'RSS/worker MB':>15}")
    for name, info in servers.items():
        if info.get("failed"):
            lines.append(f"{name:<17} FAILED: {info['error']} | log: {info['log_last_line']}")
            continue
        lines.append(
            f"{name:<17}{info['ready_s']:>9.2f}{info['settled_s']:>11.2f}{info['per_worker_rss_mb']:>15,.0f}"
        )
    for name, info in servers.items():
        if info.get("runtimes"):
            runs = ", ".join(f"{e}: {r}" for e, r in info["runtimes"].items())
            lines.append(f"{name} endpoints run on {runs}")
    lines.append("")
    simple = {k: v for k, v in ratios.items() if not isinstance(v, dict | list)}
    lines.append(
        f"JSON predict @{ACCEPTANCE_CONCURRENCY}: "
        + ", ".join(f"{k} {v}x" for k, v in simple.items())
    )
    paired = ratios.get("ceiling_pairs")
    if isinstance(paired, dict):
        lines.append(
            f"  vs ceiling in {paired['rounds']} alternating rounds: "
            f"{paired['throughput_ratios']} (median {paired['throughput_ratio_median']}x); "
            f"CPU per request, ceiling/ours: median {paired['cpu_per_request_ratio_median']}x"
        )
    for scenario in MIN_SPEEDUP:
        if rounds := ratios.get(f"{scenario}_vs_baseline_rounds"):
            lines.append(
                f"  {scenario} vs the baseline commit in {len(rounds)} alternating rounds: "
                f"{rounds} (median {ratios[f'{scenario}_vs_baseline']}x); by server CPU per "
                f"request, baseline/ours: median {ratios[f'{scenario}_vs_baseline_by_cpu']}x"
            )
    for name, check in checks.items():
        lines.append(
            f"  {'PASS' if check['ok'] else 'FAIL'}  {name}: {check['value']}"
            f" (limit {check['limit']})"
        )
    return "\n".join(lines)
