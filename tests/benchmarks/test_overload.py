"""benchmarks.overload reads hey's own output: the parsing that its figures rest on."""

from __future__ import annotations

import pytest

from benchmarks.overload import capacity, statuses_of

#: The tail of a real hey summary (hey -z 10s -c 64 against a worker refusing most requests).
SUMMARY = """
Details (average, fastest, slowest):
  DNS+dialup:\t0.0002 secs, 0.0003 secs, 0.0361 secs
  resp read:\t0.0003 secs, 0.0000 secs, 0.0124 secs

Status code distribution:
  [200]\t17948 responses
  [503]\t38364 responses

"""


def test_statuses_are_read_from_hey_summary() -> None:
    assert statuses_of(SUMMARY) == {"200": 17948, "503": 38364}


def test_capacity_counts_only_the_200_answers_per_second() -> None:
    assert capacity(SUMMARY, 10) == pytest.approx(1794.8)


def test_a_run_without_a_single_200_is_an_error_not_a_capacity_of_zero() -> None:
    with pytest.raises(RuntimeError, match="no 200 answers"):
        capacity("Status code distribution:\n  [503]\t5 responses\n", 10)
