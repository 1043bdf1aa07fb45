"""How complete integrated gradients are, per quadrature rule, on a repository's models.

    python -m benchmarks.explain_rules [--models-dir DIR] [--steps 64] [--images 20]
        [--out benchmarks/results/explain_rules.json]

For each image model, the first ``--images`` test images against the black baseline, the
predicted class's probability: the worst and median completeness gap as a share of the
explain issue's bound ``max(1% of |f(x) - f(baseline)|, 1e-3)`` (at most 1 passes).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from core import datasets
from core.manifest import SAVED_MODEL_DIR, Manifest, version_dir, versions_on_disk
from core.settings import Settings
from service.features.explain import methods
from service.runtime.gradients import Gradients

RULES: tuple[methods.Rule, ...] = ("trapezoid", "gauss-legendre", "adaptive")


def bound_ratios(paths: list[methods.PathAttribution]) -> list[float]:
    return [p.completeness_gap / max(0.01 * abs(p.value - p.baseline_value), 1e-3) for p in paths]


def main() -> None:
    import tensorflow as tf

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models-dir", type=Path)
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/explain_rules.json"))
    args = parser.parse_args()
    settings = Settings(**({"models_dir": args.models_dir} if args.models_dir else {}))
    rows = []
    print(f"{'model':<18}" + "".join(f"{r + ' worst':>22}{'median':>9}" for r in RULES))
    for name, versions in versions_on_disk(settings.models_dir).items():
        path = version_dir(settings.models_dir, name, versions[-1])
        manifest = Manifest.read(path)
        if manifest.input.kind != "image":
            continue
        test = datasets.load_split(manifest.dataset.name, "test", settings.data_dir)
        x = np.asarray(test.x[: args.images], dtype=np.float32)
        saved_model = tf.saved_model.load(str(path / SAVED_MODEL_DIR))
        grad = Gradients(saved_model).of("input", "probability")
        predicted = saved_model.predict(tf.constant(x))["probabilities"].numpy().argmax(axis=1)
        row: dict[str, object] = {"model": name, "version": versions[-1]}
        for rule in RULES:
            paths = methods.integrated_gradients(
                grad, x, np.zeros_like(x), predicted.astype(np.int32), steps=args.steps, rule=rule
            )
            ratios = bound_ratios(paths)
            row[rule] = {"worst": max(ratios), "median": float(np.median(ratios))}
        rows.append(row)
        print(
            f"{name:<18}"
            + "".join(f"{row[r]['worst']:>22.2f}{row[r]['median']:>9.3f}" for r in RULES)  # type: ignore[index]
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"steps": args.steps, "images": args.images, "rows": rows}, indent=2)
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
