"""benchmarks.wrk_status: the closed-loop figures per status rest on this arithmetic (the
Lua script's bin keys, read back here, and the nearest-rank percentiles of the bins)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.fair_overload import closed_loop_table, closed_loop_verdict, split_of
from benchmarks.wrk_status import BIN_SPAN, BIN_US, percentile_ms, script, summary


def line(bins: dict[tuple[int, int], int], *, seconds: float = 10.0, errors: int = 0) -> str:
    """A WRKBINS line as the script's done() prints it: keys status * BIN_SPAN + bin."""
    raw = {str(status * BIN_SPAN + b): n for (status, b), n in bins.items()}
    return "WRKBINS " + json.dumps({"seconds": seconds, "errors": errors, "bins": raw})


def test_bins_are_read_back_per_status_with_counts_and_the_rate_of_200s() -> None:
    # 200s: 98 answers in bin 10 (1.0-1.1 ms), one in bin 50, one in bin 2,000 (200 ms).
    # 503s: 4 answers in bin 11,000 (1.1 s: the wait and the hold).
    got = summary(line({(200, 10): 98, (200, 50): 1, (200, 2000): 1, (503, 11000): 4}))
    ok, shed = got["statuses"]["200"], got["statuses"]["503"]
    assert ok["count"] == 100 and shed["count"] == 4
    assert ok["p50_ms"] == pytest.approx(1.1)  # upper edge of bin 10
    assert ok["p99_ms"] == pytest.approx(5.1)  # rank 99 of 100 is the answer in bin 50
    assert ok["max_ms"] == pytest.approx(200.1)
    assert shed["p50_ms"] == shed["p99_ms"] == pytest.approx(1100.1)
    assert got["ok_per_s"] == 10.0  # only the 200s count as served
    assert got["errors"] == 0


def test_the_percentile_is_nearest_rank_and_never_below_the_true_value() -> None:
    counts = {b: 1 for b in range(1000)}  # one answer per 0.1 ms bin, 0 to 100 ms
    assert percentile_ms(counts, 99) == pytest.approx(99.0)  # rank 990: bin 989, edge 99.0
    assert percentile_ms(counts, 100) == pytest.approx(100.0)
    assert percentile_ms({0: 1}, 50) == pytest.approx(BIN_US / 1000)
    with pytest.raises(ValueError, match="no answers"):
        percentile_ms({}, 99)


def test_a_status_never_seen_is_absent_not_zero() -> None:
    got = summary(line({(200, 3): 5}))
    assert set(got["statuses"]) == {"200"}


def test_the_script_posts_the_body_file_and_keys_bins_as_the_reader_expects(
    tmp_path: Path,
) -> None:
    text = script(tmp_path / 'a "body".json')
    assert json.dumps(str(tmp_path / 'a "body".json')) in text  # quoted for Lua
    assert f"local BIN_US, BIN_SPAN = {BIN_US}, {BIN_SPAN}" in text
    assert "status * BIN_SPAN + bin" in text


def test_the_verdict_reads_the_200s_own_p99_and_every_acceptance_line() -> None:
    at_32 = summary(line({(200, 50): 100_000}, seconds=10.0))
    fast = summary(line({(200, 1000): 95_000, (503, 11000): 5_000}, seconds=10.0))
    slow = summary(line({(200, 1000): 90_000, (200, 4000): 5_000}, seconds=10.0))
    good = closed_loop_verdict({**fast, "connections": 1024}, at_32, memory_mb=(800.0, 810.0))
    assert good["ok_share_of_32"] == 0.95
    # 503s slower than any 200 do not move the 200s' p99 (100.1 ms, under 250).
    assert all(good["acceptance"].values()), good["acceptance"]
    bad = closed_loop_verdict({**slow, "connections": 1024}, at_32, memory_mb=(800.0, 900.0))
    assert bad["acceptance"] == {
        "ok_share_of_32": True,
        "p99_200_ms": False,  # 5,000 of 95,000 200s at 400 ms: the p99 is 400.1 ms
        "only_200_and_503": True,
        "memory_within_5pct": False,
    }
    table = closed_loop_table([{**at_32, "connections": 32}, good])
    assert "| 1,024 | 9,500 | 0.95 | 100.1 ms | 100.1 ms | 5,000 | 1,100.1 ms |" in table


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
