"""Load one model version from MODELS_DIR with the SavedModel API alone (no Keras).

Loading is blocking (it reads files and traces functions), so callers run it in the
thread pool. Every endpoint is called once before the version is published, so the
first real request pays no tracing cost. Where the version carries a LiteRT copy of an
endpoint (see core.litert) that gives the SavedModel's answer on the same check batch,
the copy serves that endpoint; otherwise the SavedModel does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from core.litert import CompiledEndpoints, EndpointFn, check_agreement, sha256_hex
from core.manifest import (
    ENDPOINTS,
    LITERT_FILE,
    SAVED_MODEL_DIR,
    TAILS_DIR,
    InputSpec,
    Manifest,
    tree_sha256,
    version_dir,
)
from core.resources import intra_op_threads
from core.settings import Settings
from service.runtime.gradients import Gradients
from service.runtime.indexes import IndexShelf
from service.runtime.loaded import LoadedModel
from service.runtime.runners import make_runner

logger = logging.getLogger(__name__)

ModelBatchObserver = Callable[[str, int], None]
"""Called with (model name, batch size) for every model call: feeds the batch histogram."""


def _tensorflow_fn(saved_model: Any, endpoint: str) -> EndpointFn:
    import tensorflow as tf

    fn = _concrete(getattr(saved_model, endpoint))

    def run(x: np.ndarray) -> dict[str, np.ndarray]:
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


def _layer_kernels(saved_model: Any) -> dict[str, np.ndarray]:
    """Dense (inputs x units) and Conv2D (height x width x channels x filters) kernels.

    Variables are shared between endpoints, so the same name can appear several times."""
    kernels: dict[str, np.ndarray] = {}
    for variable in saved_model.variables:
        name = variable.name
        if name.endswith("/kernel:0") and len(variable.shape) in (2, 4):
            layer = name.removesuffix("/kernel:0")
            kernels.setdefault(layer, variable.numpy())
    for array in kernels.values():
        array.setflags(write=False)
    return kernels


def _gradients(
    saved_model: Any, directory: Path, manifest: Manifest, settings: Settings
) -> Gradients:
    """Gradients with the layer tails when the manifest records them and the folder still
    has the recorded checksum (else, with a warning, the input and the embedding only).
    The tails SavedModel itself loads on the first layer attribution."""
    record = manifest.tails
    compile_paths = settings.explain_compile
    if record is None:
        return Gradients(saved_model, compile_paths=compile_paths)
    folder = directory / TAILS_DIR
    if not folder.is_dir() or tree_sha256(folder) != record.sha256:
        logger.warning(
            "%s: %s does not match its manifest checksum: no layer attribution beyond "
            "the embedding",
            directory,
            TAILS_DIR,
        )
        return Gradients(saved_model, compile_paths=compile_paths)

    def load_tails() -> Any:
        import tensorflow as tf

        return tf.saved_model.load(str(folder))

    return Gradients(
        saved_model, tail_layers=record.layers, load_tails=load_tails, compile_paths=compile_paths
    )


def _compiled_fns(directory: Path, manifest: Manifest, settings: Settings) -> dict[str, EndpointFn]:
    """The version's LiteRT endpoints, or none when it has no copy or the copy is not the
    one the manifest recorded (then the SavedModel serves, with a warning)."""
    record = manifest.compiled
    if settings.inference_runtime != "litert" or record is None:
        return {}
    model = (directory / LITERT_FILE).read_bytes()
    if sha256_hex(model) != record.sha256:
        logger.warning("%s: %s does not match its manifest checksum", directory, LITERT_FILE)
        return {}
    compiled = CompiledEndpoints(model, threads=intra_op_threads(settings))
    return {e: compiled.endpoint(e) for e in record.endpoints}


def _choose(
    name: str,
    tf_fns: dict[str, EndpointFn],
    compiled: dict[str, EndpointFn],
    input_spec: InputSpec,
) -> dict[str, tuple[str, EndpointFn]]:
    """Per endpoint (runtime, function): LiteRT where core.litert.check_agreement finds it
    answers as the SavedModel does, TensorFlow otherwise. The check also warms every
    endpoint."""
    problems = check_agreement(tf_fns, compiled, input_spec).problems
    chosen: dict[str, tuple[str, EndpointFn]] = {}
    for endpoint, tf_fn in tf_fns.items():
        chosen[endpoint] = ("tensorflow", tf_fn)
        lite = compiled.get(endpoint)
        if lite is None:
            continue
        if endpoint in problems:
            logger.warning("%s:%s LiteRT copy not used: %s", name, endpoint, problems[endpoint])
        else:
            chosen[endpoint] = ("litert", lite)
    return chosen


def load_version(
    models_dir: Path,
    name: str,
    version: int,
    *,
    settings: Settings,
    executor: Executor,
    observe: ModelBatchObserver,
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
    tf_fns = {e: _tensorflow_fn(saved_model, e) for e in ENDPOINTS}
    # Warm-up and check calls stay out of the batch-size histogram: only runners observe.
    chosen = _choose(name, tf_fns, _compiled_fns(directory, manifest, settings), manifest.input)
    runners = {
        endpoint: make_runner(
            run,
            model=name,
            name=f"{name}/{version}:{endpoint}",
            settings=settings,
            executor=executor,
            on_batch=partial(observe, name),
        )
        for endpoint, (_, run) in chosen.items()
    }
    runtimes = {endpoint: runtime for endpoint, (runtime, _) in chosen.items()}
    logger.info(
        "loaded model %s version %d from %s (%s)",
        name,
        version,
        directory,
        ", ".join(f"{e}: {r}" for e, r in runtimes.items()),
    )
    return LoadedModel(
        manifest=manifest,
        path=directory,
        runners=MappingProxyType(runners),
        runtimes=MappingProxyType(runtimes),
        kernels=MappingProxyType(_layer_kernels(saved_model)),
        gradients=_gradients(saved_model, directory, manifest, settings),
        neighbor_indexes=IndexShelf(directory, manifest.neighbor_indexes),
    )
