"""TensorFlow's process environment: what must be in place before TensorFlow is imported."""

from __future__ import annotations

import os

#: TensorFlow reads it once, when it loads.
ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"


def prefer_onednn() -> None:
    """Use oneDNN's CPU kernels unless the environment says otherwise.

    TensorFlow turns them on by itself only on CPUs with AVX-512-class features. On the AVX2
    machines CI and `make run` use (2-core AMD EPYC) they make convolutions and their
    gradients 1.5-2.5 times as fast: training `digits-cnn` 59 -> 23-30 s per epoch, a
    51-row integrated-gradients call of it 37-40 -> 20-23 ms. Results differ from the
    default kernels only by float32 rounding. A no-op once TensorFlow is loaded; an explicit
    TF_ENABLE_ONEDNN_OPTS=0 still wins.
    """
    os.environ.setdefault(ONEDNN_VARIABLE, "1")
