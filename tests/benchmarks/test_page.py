"""The page benchmark's arithmetic: which files count, the percentile, the budget checks."""

from __future__ import annotations

from pathlib import Path

from benchmarks import page


def test_only_the_pages_own_js_and_css_count(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    (tmp_path / "vendor" / "redoc").mkdir(parents=True)
    (tmp_path / "js" / "app.js").write_bytes(b"x" * 100)
    (tmp_path / "lens.css").write_bytes(b"x" * 20)
    (tmp_path / "index.html").write_bytes(b"x" * 1000)
    (tmp_path / "vendor" / "redoc" / "redoc.js").write_bytes(b"x" * 5000)
    assert page.own_asset_bytes(tmp_path) == 120


def test_percentile_is_an_observed_value_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert page.percentile(values, 95) == 95.0
    assert page.percentile(values, 50) == 50.0
    assert page.percentile([3.0, 1.0, 2.0], 95) == 3.0


def test_each_figure_is_checked_against_the_issues_budget() -> None:
    figures = page.Figures(
        own_js_css_bytes=70_000,
        first_paint_ms=80.0,
        predict_to_drawn_p95_ms=31.0,
        predict_to_drawn_p50_ms=12.0,
        predictions=60,
        map_points=2000,
        map_2000_draw_ms=120.0,
    )
    result = page.checks(figures)
    assert {name for name, c in result.items() if not c["ok"]} == {"predict_to_drawn_p95_ms"}
    assert result["own_js_css_bytes"]["budget"] == 300 * 1024
