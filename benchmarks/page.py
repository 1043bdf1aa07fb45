"""The page's speed, measured in a real browser against a running service.

    python -m benchmarks.page [--url http://127.0.0.1:8000] [--loads 10] [--predictions 60]
                              [--map-points 2000] [--json out.json]

Reports the issue's four figures and checks them against its budgets: the page's own JS and
CSS in bytes (not the vendored /docs and /redoc bundles, not the test-only axe-core),
first paint on localhost (median of fresh loads), request-sent-to-probabilities-drawn at
p95 (measured in the page: ``performance.now()`` from before ``fetch`` to the animation
frame after the bars are in the DOM), and the time to draw a 2,000-point map (the time to
fetch its points, projected by the service, and to place the current input is reported
beside it).
Needs Debian's chromium (``scripts/system-deps.sh``) and playwright (the dev extra).
Exit code 0 only when every figure is within its budget.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).resolve().parents[1] / "service" / "page" / "static"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
#: The issue's budgets.
BUDGETS = {
    "own_js_css_bytes": 300 * 1024,
    "first_paint_ms": 500.0,
    "predict_to_drawn_p95_ms": 30.0,
    "map_2000_draw_ms": 200.0,
}
TIMEOUT_MS = 60_000


@dataclass
class Figures:
    own_js_css_bytes: int
    first_paint_ms: float
    predict_to_drawn_p95_ms: float
    predict_to_drawn_p50_ms: float
    predictions: int
    map_points: int
    map_2000_draw_ms: float
    map_2000_load_ms: float = 0.0


def own_asset_bytes(static_dir: Path = STATIC_DIR) -> int:
    """The page's own JS and CSS: everything under static/ except vendor/."""
    return sum(
        p.stat().st_size
        for p in static_dir.rglob("*")
        if p.suffix in {".js", ".css"} and "vendor" not in p.relative_to(static_dir).parts
    )


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): an observed value, never an interpolation."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def checks(figures: Figures) -> dict[str, dict[str, Any]]:
    values = asdict(figures)
    return {
        name: {"value": values[name], "budget": budget, "ok": values[name] <= budget}
        for name, budget in BUDGETS.items()
    }


def measure(url: str, *, loads: int, predictions: int, map_points: int) -> Figures:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise SystemExit("no chromium: run scripts/system-deps.sh as root")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        paints = []
        for _ in range(loads):
            ctx = browser.new_context()
            page = ctx.new_page()
            page.goto(f"{url}/#/digits/predict")
            page.wait_for_function(
                "performance.getEntriesByName('first-contentful-paint').length", timeout=TIMEOUT_MS
            )
            paints.append(
                page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime")
            )
            ctx.close()

        ctx = browser.new_context()
        page = ctx.new_page()
        page.add_init_script("window.__lensTimings = []")
        page.goto(f"{url}/#/digits/predict")
        page.wait_for_selector("#predicted-label", timeout=TIMEOUT_MS)
        page.evaluate("window.__lensTimings.length = 0")
        for i in range(predictions):
            page.fill("#example-index", str(i + 1))
            page.click("#example-load")
            page.wait_for_function(f"window.__lensTimings.length >= {i + 1}", timeout=TIMEOUT_MS)
        timings = page.evaluate("window.__lensTimings")

        page.goto(f"{url}/#/digits/map")
        page.wait_for_selector("#map[data-points]", timeout=TIMEOUT_MS)
        page.fill("#map-count", str(map_points))
        page.click("#map-draw")
        page.wait_for_selector(f'#map[data-points="{map_points}"]', timeout=TIMEOUT_MS)
        map_ms = float(page.get_attribute("#map", "data-draw-ms"))
        load_ms = float(page.get_attribute("#map", "data-load-ms"))
        ctx.close()
        browser.close()
    return Figures(
        own_js_css_bytes=own_asset_bytes(),
        first_paint_ms=round(statistics.median(paints), 1),
        predict_to_drawn_p95_ms=round(percentile(timings, 95), 1),
        predict_to_drawn_p50_ms=round(percentile(timings, 50), 1),
        predictions=len(timings),
        map_points=map_points,
        map_2000_draw_ms=map_ms,
        map_2000_load_ms=load_ms,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--predictions", type=int, default=60)
    parser.add_argument("--map-points", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    figures = measure(
        args.url, loads=args.loads, predictions=args.predictions, map_points=args.map_points
    )
    result = checks(figures)
    for name, check in result.items():
        mark = "ok  " if check["ok"] else "OVER"
        print(f"{mark} {name:<26} {check['value']:>10} (budget {check['budget']})")
    print(f"     predict_to_drawn_p50_ms    {figures.predict_to_drawn_p50_ms:>10}")
    print(f"     map_2000_load_ms           {figures.map_2000_load_ms:>10} (points + :project)")
    if args.json:
        args.json.write_text(json.dumps({"figures": asdict(figures), "checks": result}, indent=2))
    return 0 if all(c["ok"] for c in result.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
