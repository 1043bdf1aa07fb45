"""benchmarks.wrk_status: the closed-loop figures per status rest on the Lua script's
bounds (read back here) and on the verdict that reads them; one test runs the real wrk
against a small server whose 503s are slower than its 200s by construction."""

from __future__ import annotations

import http.server
import itertools
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.fair_overload import (
    closed_loop_table,
    closed_loop_verdict,
    p99_200,
    refusal_counts_of,
    refusal_evidence,
    split_of,
)
from benchmarks.wrk_status import QUANTILES, run, script, summary
from tests.fixtures.stub_http import serve_stub


def line(statuses: dict[int, tuple[int, dict[int, tuple[float, float]]]], *,
         seconds: float = 10.0, errors: int = 0, max_ms: float = 1500.0) -> str:  # fmt: skip
    """A WRKSTATUS line as the script's done() prints it: per status its count and, per
    quantile, the (lower, upper) bounds in microseconds (given here in ms)."""
    rows = {
        str(status): {
            "count": count,
            **{f"p{q}_us": [round(lo * 1000), round(hi * 1000)] for q, (lo, hi) in b.items()},
        }
        for status, (count, b) in statuses.items()
    }
    answers = sum(count for count, _ in statuses.values())
    raw = {"seconds": seconds, "errors": errors, "answers": answers, "timed": answers - errors,
           "added_by_wrk": 0, "max_us": round(max_ms * 1000), "statuses": rows}  # fmt: skip
    return "WRKSTATUS " + json.dumps(raw)


def both(p50: tuple[float, float], p99: tuple[float, float]) -> dict[int, tuple[float, float]]:
    return {50: p50, 99: p99}


def test_bounds_are_read_back_per_status_with_counts_and_the_rate_of_200s() -> None:
    got = summary(
        line(
            {
                200: (100, both((1.0, 1.1), (5.0, 5.2))),
                503: (4, both((1100.0, 1100.0), (1100.0, 1200.0))),
            }
        )
    )
    ok, shed = got["statuses"]["200"], got["statuses"]["503"]
    assert ok["count"] == 100 and shed["count"] == 4
    assert (ok["p50_ms_low"], ok["p50_ms"]) == (1.0, 1.1)  # acceptance reads the upper
    assert (ok["p99_ms_low"], ok["p99_ms"]) == (5.0, 5.2)
    assert shed["p99_ms"] == 1200.0
    assert got["ok_per_s"] == 10.0  # only the 200s count as served
    assert got["answers"] == 104 and got["errors"] == 0 and got["max_ms"] == 1500.0


def test_bounds_out_of_order_are_an_error_not_a_figure() -> None:
    with pytest.raises(ValueError, match="p99 bounds out of order"):
        summary(line({200: (10, both((1.0, 1.0), (9.0, 2.0)))}))


def test_a_histogram_that_does_not_hold_the_answers_counted_is_an_error() -> None:
    raw = json.loads(line({200: (10, both((1.0, 1.0), (2.0, 2.0)))}).removeprefix("WRKSTATUS "))
    raw["timed"] = 14  # wrk's added records left in: more in the histogram than answered
    with pytest.raises(ValueError, match="holds 14 answers, not the 10 counted"):
        summary("WRKSTATUS " + json.dumps(raw))


def test_a_status_never_seen_is_absent_not_zero() -> None:
    got = summary(line({200: (5, both((1.0, 1.0), (2.0, 2.0)))}))
    assert set(got["statuses"]) == {"200"}


def test_the_script_posts_the_body_file_and_asks_for_each_quantile(tmp_path: Path) -> None:
    text = script(tmp_path / 'a "body".json', 1024)
    assert json.dumps(str(tmp_path / 'a "body".json')) in text  # quoted for Lua
    assert "local CONNECTIONS = 1024" in text  # what wrk's correction divides by
    assert "for _, q in ipairs({" + ", ".join(map(str, QUANTILES)) + "})" in text
    assert "r + timed - ns" in text  # the upper bound's rank, among the timed answers


def test_the_verdict_reads_the_200s_upper_bound_and_every_acceptance_line() -> None:
    at_32 = summary(line({200: (100_000, both((5.0, 5.0), (9.0, 9.0)))}, seconds=10.0))
    fast = summary(
        line(
            {
                200: (95_000, both((60.0, 60.0), (100.0, 100.1))),
                503: (5_000, both((1100.0, 1100.1), (1100.0, 1300.0))),
            }
        )
    )
    # The 200s' p99 could be anywhere up to 400 ms: acceptance takes the upper bound.
    wide = summary(line({200: (95_000, both((60.0, 70.0), (200.0, 400.0)))}))
    good = closed_loop_verdict({**fast, "connections": 1024}, at_32, memory_mb=(800.0, 810.0))
    assert good["ok_share_of_32"] == 0.95
    assert all(good["acceptance"].values()), good["acceptance"]
    bad = closed_loop_verdict({**wide, "connections": 1024}, at_32, memory_mb=(800.0, 900.0))
    assert bad["acceptance"] == {
        "ok_share_of_32": True,
        "p99_200_ms": False,
        "only_200_and_503": True,
        "memory_within_5pct": False,
    }
    table = closed_loop_table([{**at_32, "connections": 32}, good])
    assert (
        "| 1,024 | 9,500 | 0.95 | 60.0 ms | <= 100.1 ms | 5,000 | 1,100.1 ms | 1,300.0 ms |"
        in table
    )
    assert "| 32 | 10,000 | - | 5.0 ms | 9.0 ms |" in table  # no 503s: the bounds meet


def held(*, app_503: int = 0, held_by_server: int = 5_000, answered_503: int = 5_000) -> dict:
    """The refusal evidence of a run from the service's counters before and after it."""
    return refusal_evidence(
        {"held": 100.0, "app_503": 7.0},
        {"held": 100.0 + held_by_server, "app_503": 7.0 + app_503},
        answered_503=answered_503,
    )


def test_the_200s_p99_is_exact_only_when_every_503_was_held_past_it() -> None:
    # 200s' p99 between 180 ms (their rank among every answer) and 1,150 ms (that rank
    # plus every 503): the 503s may be anywhere as far as wrk's histogram can tell.
    row = summary(
        line(
            {
                200: (95_000, both((60.0, 60.0), (180.0, 1150.0))),
                503: (5_000, both((90.0, 1120.0), (100.0, 1300.0))),
            }
        )
    )
    floor = held()["floor_ms"]
    assert floor == 1090.0  # the defaults: 100 ms wait + 1,000 ms hold, less 10 ms of slack
    # Every 503 was held at least the floor, so every answer under it is a 200.
    assert p99_200({**row, "refusals": held()}) == (180.0, True)
    # Not shown: the upper bound stands.
    assert p99_200(row) == (1150.0, False)
    # The application answered 503s of its own (not held): they may be fast.
    assert p99_200({**row, "refusals": held(app_503=3)}) == (1150.0, False)
    # wrk saw more 503s than the in-flight bound held: some came from elsewhere.
    assert p99_200({**row, "refusals": held(held_by_server=4_000)}) == (1150.0, False)
    # The lower bound is past the floor: 503s may be among the answers below it.
    slow = {**row, "statuses": {**row["statuses"], "200": {**row["statuses"]["200"],
                                                           "p99_ms_low": 1100.0}}}  # fmt: skip
    assert p99_200({**slow, "refusals": held()}) == (1150.0, False)
    # Another status beside the 503s (a fast 500, say) may sit below the lower bound.
    failing = {**row, "statuses": {**row["statuses"], "500": {"count": 10}}}
    assert p99_200({**failing, "refusals": held()}) == (1150.0, False)
    only_500 = {**row, "statuses": {"200": row["statuses"]["200"], "500": {"count": 10}}}
    assert p99_200({**only_500, "refusals": held(answered_503=0)}) == (1150.0, False)
    verdict = closed_loop_verdict(
        {**row, "refusals": held(), "connections": 1024},
        summary(line({200: (100_000, both((5.0, 5.0), (9.0, 9.0)))})),
        memory_mb=(800.0, 800.0),
    )
    assert verdict["p99_200_ms"] == 180.0 and verdict["p99_200_exact"]
    assert verdict["acceptance"]["p99_200_ms"] is True
    assert "| 180.0 ms |" in closed_loop_table([verdict])


def test_the_service_counters_read_are_held_refusals_and_the_apps_own_503s() -> None:
    text = "\n".join(
        [
            "# TYPE layerlens_requests_shed counter",
            'layerlens_requests_shed_total{reason="in_flight"} 12.0',
            "# TYPE layerlens_requests counter",
            'layerlens_requests_total{method="POST",route="/p",model="digits",status="200"} 90.0',
            'layerlens_requests_total{method="POST",route="/p",model="digits",status="503"} 2.0',
            'layerlens_requests_total{method="POST",route="/q",model="fashion",status="503"} 1.0',
            "",
        ]
    )
    assert refusal_counts_of(text) == {"held": 12.0, "app_503": 3.0}


def test_the_connection_split_counts_accepted_connections_per_worker_only() -> None:
    ss = "\n".join(
        [
            '0 0 127.0.0.1:8000 127.0.0.1:5001 users:(("python",pid=11,fd=20))',
            '0 0 127.0.0.1:8000 127.0.0.1:5002 users:(("python",pid=12,fd=21))',
            '0 0 127.0.0.1:8000 127.0.0.1:5003 users:(("python",pid=11,fd=22))',
            "0 0 127.0.0.1:8000 127.0.0.1:5004",  # in the accept queue: no worker owns it
        ]
    )
    assert split_of(ss) == [2, 1]


#: The small server's refusals: every tenth answer, held this long (the 200s are at once).
SLOW_503_S = 0.2


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    answered = itertools.count()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        refuse = next(self.answered) % 10 == 9
        if refuse:
            time.sleep(SLOW_503_S)
        status = b"503 Service Unavailable" if refuse else b"200 OK"
        # One write: headers and body apart would wait on delayed ACKs (about 40 ms).
        self.wfile.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\n{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def small_server() -> Iterator[str]:
    with serve_stub(_Handler) as url:
        yield url + "/"


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_real_wrk_bounds_hold_the_true_percentiles(small_server: str, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text('{"instances": [[0, 1]]}')
    got = run(small_server, body, connections=8, seconds=2)
    ok, shed = got["statuses"]["200"], got["statuses"]["503"]
    assert set(got["statuses"]) == {"200", "503"} and got["errors"] == 0
    assert got["answers"] == ok["count"] + shed["count"]
    assert 0.05 < shed["count"] / got["answers"] < 0.2  # every tenth, give or take the ends
    for row in (ok, shed):
        for q in QUANTILES:
            assert row[f"p{q}_ms_low"] <= row[f"p{q}_ms"]
    # Every 503 took at least SLOW_503_S: their p50 and its upper bound are no lower, and
    # the 200s (answered at once) have a lower bound well below it.
    assert shed["p50_ms"] >= 1000 * SLOW_503_S
    assert ok["p50_ms_low"] < 1000 * SLOW_503_S / 2
    # wrk added made-up records below each held 503 (one per interval between a
    # connection's requests); the script took them out and timed exactly the answers, so
    # the 200s' median (both bounds) is theirs, not the made-up records' (tens of ms).
    assert got["added_by_wrk"] > 0
    assert got["timed"] == got["answers"]
    assert ok["p50_ms"] < 1000 * SLOW_503_S / 20
