"""Write a trained network into the model repository: SavedModel endpoints + manifest.

The version directory is assembled in a hidden temporary sibling and renamed into place
at the end, so the service (which only counts directories holding a manifest) never sees
half a version, and a crash leaves nothing behind but the temporary directory.
"""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from core.manifest import (
    EMBEDDING_LAYER,
    ENDPOINT_EMBED,
    ENDPOINT_HEAD,
    ENDPOINT_LAYERS,
    ENDPOINT_PREDICT,
    LOGITS_LAYER,
    PROBABILITIES_LAYER,
    SAVED_MODEL_DIR,
    DatasetRecord,
    EndpointSpec,
    LayerSpec,
    Manifest,
    TensorSpec,
    list_versions,
    version_dir,
)
from training.compile import try_compile, write_compiled
from training.networks import Network, probed_layers
from training.recipes import ModelSpec
from training.tails import try_tails


def _shape(tensor: keras.KerasTensor) -> tuple[int, ...]:
    return tuple(int(d) for d in tensor.shape[1:])


def _spec(name: str, tensor: keras.KerasTensor) -> TensorSpec:
    return TensorSpec(name=name, shape=(None, *_shape(tensor)))


class _Endpoints:
    """Keras models sharing the trained layers, one per exported endpoint."""

    def __init__(self, network: Network) -> None:
        x = keras.Input(network.input_shape, name="x")
        outputs: dict[str, keras.KerasTensor] = {}
        h = x
        for layer in network.chain:
            h = layer(h)
            outputs[layer.name] = h
        self.input = x
        self.outputs = outputs
        self.probed = [layer.name for layer in probed_layers(network)]
        head_classes = {PROBABILITIES_LAYER, LOGITS_LAYER}
        self.predict = keras.Model(x, {k: outputs[k] for k in head_classes})
        self.embed = keras.Model(x, {EMBEDDING_LAYER: outputs[EMBEDDING_LAYER]})
        self.layers = keras.Model(x, {name: outputs[name] for name in self.probed})
        e = keras.Input(_shape(outputs[EMBEDDING_LAYER]), name=EMBEDDING_LAYER)
        h = e
        tail: dict[str, keras.KerasTensor] = {}
        for layer in network.head_layers():
            h = layer(h)
            tail[layer.name] = h
        self.embedding_input = e
        self.head = keras.Model(e, {k: tail[k] for k in head_classes})


def export_network(
    spec: ModelSpec,
    network: Network,
    *,
    models_dir: Path,
    training: Mapping[str, object],
    dataset: DatasetRecord,
    version: int | None = None,
    extra_files: Mapping[str, str] | None = None,
    compile_for_litert: bool = True,
) -> Manifest:
    """Export ``network`` (trained from ``spec``) and return the manifest, which takes the
    name, task, description, classes, input contract and reference figure from ``spec``.
    ``version=None`` takes the next free integer.

    ``extra_files`` (name -> text) are written into the version directory with the rest,
    e.g. the training history that evaluation stores later. ``compile_for_litert`` adds
    the LiteRT copy of the endpoints that the service runs when it can (training.compile).
    The per-layer tails that layer attribution differentiates are always added when they
    pass their check (training.tails).
    """
    name, input_spec = spec.name, spec.task.input
    if version is None:
        version = max(list_versions(models_dir, name), default=0) + 1
    final = version_dir(models_dir, name, version)
    if final.exists():
        raise FileExistsError(f"{final} exists: versions are immutable")
    ends = _Endpoints(network)
    x_sig = [tf.TensorSpec([None, *network.input_shape], tf.float32, name="x")]
    e_sig = [
        tf.TensorSpec(
            [None, *_shape(ends.outputs[EMBEDDING_LAYER])], tf.float32, name=EMBEDDING_LAYER
        )
    ]
    archive = keras.export.ExportArchive()
    for model in (ends.predict, ends.embed, ends.layers, ends.head):
        archive.track(model)
    archive.add_endpoint(ENDPOINT_PREDICT, lambda x: ends.predict(x, training=False), x_sig)
    archive.add_endpoint(ENDPOINT_EMBED, lambda x: ends.embed(x, training=False), x_sig)
    archive.add_endpoint(ENDPOINT_LAYERS, lambda x: ends.layers(x, training=False), x_sig)
    archive.add_endpoint(
        ENDPOINT_HEAD, lambda embedding: ends.head(embedding, training=False), e_sig
    )

    layer_specs = tuple(
        LayerSpec(
            name=n,
            output_shape=_shape(ends.outputs[n]),
            kind=type(next(la for la in network.chain if la.name == n)).__name__,
        )
        for n in ends.probed
    )
    x_in = (_spec("x", ends.input),)
    heads = tuple(_spec(k, ends.outputs[k]) for k in (PROBABILITIES_LAYER, LOGITS_LAYER))
    manifest = Manifest(
        name=name,
        version=version,
        task=spec.task.name,
        architecture=spec.architecture,
        description=spec.description,
        class_names=spec.task.class_names,
        input=input_spec,
        layers=layer_specs,
        endpoints={
            ENDPOINT_PREDICT: EndpointSpec(inputs=x_in, outputs=heads),
            ENDPOINT_EMBED: EndpointSpec(
                inputs=x_in, outputs=(_spec(EMBEDDING_LAYER, ends.outputs[EMBEDDING_LAYER]),)
            ),
            ENDPOINT_LAYERS: EndpointSpec(
                inputs=x_in, outputs=tuple(_spec(n, ends.outputs[n]) for n in ends.probed)
            ),
            ENDPOINT_HEAD: EndpointSpec(
                inputs=(_spec(EMBEDDING_LAYER, ends.embedding_input),), outputs=heads
            ),
        },
        training=training,
        dataset=dataset,
        framework=framework_versions(),
        created_at=datetime.now(UTC),
        reference={"test_accuracy": spec.reference} if spec.reference else {},
    )
    staging = final.parent / f".staging-{version}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        archive.write_out(str(staging / SAVED_MODEL_DIR), verbose=False)
        if compile_for_litert:
            compiled = try_compile(staging / SAVED_MODEL_DIR, input_spec, name)
            if compiled is not None:
                write_compiled(staging, compiled.model)
                manifest = manifest.model_copy(update={"compiled": compiled.record})
        tails = try_tails(network, staging, input_spec, name)
        if tails is not None:
            manifest = manifest.model_copy(update={"tails": tails})
        for file_name, text in (extra_files or {}).items():
            (staging / file_name).write_text(text, encoding="utf-8")
        manifest.write(staging)
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def framework_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }
