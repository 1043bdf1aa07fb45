"""Log lines a client cannot forge or flood (issue 31): control characters escaped in the
text format, the same warning written once a window with a count of the ones left out."""

from __future__ import annotations

import logging

from service.logs import RepeatLimit, TextFormatter, escape_controls


def _record(msg: str, *args: object, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("layerlens.test", level, __file__, 1, msg, args, None)


def test_a_newline_in_request_data_cannot_start_a_line() -> None:
    formatter = TextFormatter("%(levelname)s %(message)s")
    line = formatter.format(_record("%s %s: %s", "POST", "/v1/models/x\nINFO forged", "busy"))
    assert "\n" not in line
    assert "/v1/models/x\\nINFO forged" in line
    assert escape_controls("a\rb\x1b[31m\u2028") == "a\\rb\\x1b[31m\\u2028"
    assert escape_controls("plain é") == "plain é"


def test_repeats_are_left_out_and_counted() -> None:
    limit = RepeatLimit(window_s=60)
    first = _record("GET %s: overloaded", "/a")
    assert limit.filter(first)
    assert not any(limit.filter(_record("GET %s: overloaded", "/a")) for _ in range(5))
    assert limit.filter(_record("GET %s: overloaded", "/b")), "other arguments: another line"
    limit._last = {key: value - 61 for key, value in limit._last.items()}  # a window later
    later = _record("GET %s: overloaded", "/a")
    assert limit.filter(later)
    assert "[and 5 more like it in the last 60 s]" in later.getMessage()


def test_a_repeat_key_groups_lines_with_different_text() -> None:
    limit = RepeatLimit(window_s=60)
    shed = [_record("POST %s: %d in flight", f"/m{i}", i) for i in range(3)]
    for record in shed:
        record.repeat_key = "overloaded"
    assert [limit.filter(r) for r in shed] == [True, False, False]
    assert limit.filter(_record("info passes", level=logging.INFO))
