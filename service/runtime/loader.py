"""Load one model version from MODELS_DIR with the SavedModel API alone (no Keras).

Loading is blocking (it reads files and traces functions), so callers run it in the
thread pool. Every endpoint is called once before the version is published, so the
first real request pays no tracing cost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from core.manifest import (
    ENDPOINT_HEAD,
    ENDPOINTS,
    SAVED_MODEL_DIR,
    Manifest,
    version_dir,
)
from core.settings import Settings
from service.runtime.loaded import LoadedModel
from service.runtime.runners import RunFn, make_runner

logger = logging.getLogger(__name__)

BatchObserver = Callable[[str, int], None]
"""Called with (model name, batch size) for every batch run: feeds the batch histogram."""


def _ignore(model: str, size: int) -> None:
    return None


def _endpoint_fn(saved_model: Any, endpoint: str, model: str, observe: BatchObserver) -> RunFn:
    import tensorflow as tf

    fn = _concrete(getattr(saved_model, endpoint))

    def run(x: np.ndarray) -> dict[str, np.ndarray]:
        observe(model, len(x))
        outputs = fn(tf.constant(x, dtype=tf.float32))
        return {key: value.numpy() for key, value in outputs.items()}

    return run


def _concrete(fn: Any) -> Any:
    """The endpoint's one traced function, called directly.

    Each endpoint is exported with one input signature, so its single concrete function
    is what the restored function would pick anyway; calling it skips the per-call
    signature matching and retracing checks (about a third of a small call's cost).
    """
    concrete = getattr(fn, "concrete_functions", ())
    return concrete[0] if len(concrete) == 1 else fn


def _dense_kernels(saved_model: Any) -> dict[str, np.ndarray]:
    """Variables are shared between endpoints, so the same name can appear several times."""
    kernels: dict[str, np.ndarray] = {}
    for variable in saved_model.variables:
        name = variable.name
        if name.endswith("/kernel:0") and len(variable.shape) == 2:
            layer = name.removesuffix("/kernel:0")
            kernels.setdefault(layer, variable.numpy())
    for array in kernels.values():
        array.setflags(write=False)
    return kernels


def _warm_input(manifest: Manifest, endpoint: str) -> np.ndarray:
    if endpoint == ENDPOINT_HEAD:
        embedding = manifest.layer(manifest.embedding_layer)
        assert embedding is not None  # the manifest validates this
        return np.zeros((1, *embedding.output_shape), dtype=np.float32)
    return np.zeros((1, *manifest.input.shape), dtype=np.float32)


def load_version(
    models_dir: Path,
    name: str,
    version: int,
    *,
    settings: Settings,
    executor: Executor,
    observe: BatchObserver,
) -> LoadedModel:
    """Blocking: read the manifest, load the SavedModel, warm every endpoint."""
    import tensorflow as tf

    directory = version_dir(models_dir, name, version)
    manifest = Manifest.read(directory)
    if manifest.name != name or manifest.version != version:
        raise ValueError(
            f"{directory} holds a manifest for {manifest.name} v{manifest.version}, "
            f"not {name} v{version}"
        )
    saved_model = tf.saved_model.load(str(directory / SAVED_MODEL_DIR))
    for endpoint in ENDPOINTS:  # warm-up calls stay out of the batch-size histogram
        _endpoint_fn(saved_model, endpoint, name, _ignore)(_warm_input(manifest, endpoint))
    run_fns = {e: _endpoint_fn(saved_model, e, name, observe) for e in ENDPOINTS}
    runners = {
        endpoint: make_runner(
            run,
            model=name,
            name=f"{name}/{version}:{endpoint}",
            settings=settings,
            executor=executor,
        )
        for endpoint, run in run_fns.items()
    }
    logger.info("loaded model %s version %d from %s", name, version, directory)
    return LoadedModel(
        manifest=manifest,
        path=directory,
        runners=MappingProxyType(runners),
        kernels=MappingProxyType(_dense_kernels(saved_model)),
    )
