"""Write a model into the repository: SavedModel endpoints + manifest (any model meeting
the exported-model contract, `training.contract`: a trained network or an imported file).

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
from training.contract import Description, ExportedModel
from training.networks import Network, probed_layers
from training.recipes import ModelSpec
from training.tails import try_tails


def _shape(tensor: keras.KerasTensor) -> tuple[int, ...]:
    return tuple(int(d) for d in tensor.shape[1:])


def network_endpoints(network: Network) -> ExportedModel:
    """The trainer's ``Network`` chain as the exported-model contract."""
    x = keras.Input(network.input_shape, name="x")
    outputs: dict[str, keras.KerasTensor] = {}
    h = x
    for layer in network.chain:
        h = layer(h)
        outputs[layer.name] = h
    probed = [layer.name for layer in probed_layers(network)]
    head_classes = (PROBABILITIES_LAYER, LOGITS_LAYER)
    e = keras.Input(_shape(outputs[EMBEDDING_LAYER]), name=EMBEDDING_LAYER)
    h = e
    tail: dict[str, keras.KerasTensor] = {}
    for layer in network.head_layers():
        h = layer(h)
        tail[layer.name] = h
    kinds = {layer.name: type(layer).__name__ for layer in network.chain}
    return ExportedModel(
        input_shape=network.input_shape,
        predict=keras.Model(x, {k: outputs[k] for k in head_classes}),
        embed=keras.Model(x, {EMBEDDING_LAYER: outputs[EMBEDDING_LAYER]}),
        layers=keras.Model(x, {name: outputs[name] for name in probed}),
        head=keras.Model(e, {k: tail[k] for k in head_classes}),
        layer_specs=tuple(
            LayerSpec(name=n, output_shape=_shape(outputs[n]), kind=kinds[n]) for n in probed
        ),
        tails=lambda folder, spec, name: try_tails(network, folder, spec, name),
    )


def describe(spec: ModelSpec) -> Description:
    """A recipe's part of the manifest."""
    return Description(
        name=spec.name,
        task=spec.task.name,
        architecture=spec.architecture,
        description=spec.description,
        class_names=spec.task.class_names,
        input=spec.task.input,
        reference={"test_accuracy": spec.reference} if spec.reference else {},
    )


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
    """Export ``network`` (trained from ``spec``): ``export_model`` with the recipe's
    description and the chain's endpoints."""
    return export_model(
        describe(spec),
        network_endpoints(network),
        models_dir=models_dir,
        training=training,
        dataset=dataset,
        version=version,
        extra_files=extra_files,
        compile_for_litert=compile_for_litert,
    )


def export_model(
    about: Description,
    model: ExportedModel,
    *,
    models_dir: Path,
    training: Mapping[str, object],
    dataset: DatasetRecord | Mapping[str, object],
    version: int | None = None,
    extra_files: Mapping[str, str] | None = None,
    compile_for_litert: bool = True,
) -> Manifest:
    """Write ``model`` as a new version of ``about.name`` and return its manifest.
    ``version=None`` takes the next free integer.

    ``extra_files`` (name -> text) are written into the version directory with the rest,
    e.g. the training history that evaluation stores later. ``compile_for_litert`` adds
    the LiteRT copy of the endpoints that the service runs when it can (training.compile).
    The per-layer tails that layer attribution differentiates are added when the model
    offers a builder and they pass its check (training.tails).
    """
    name, input_spec = about.name, about.input
    if version is None:
        version = max(list_versions(models_dir, name), default=0) + 1
    final = version_dir(models_dir, name, version)
    if final.exists():
        raise FileExistsError(f"{final} exists: versions are immutable")
    x_sig = [tf.TensorSpec([None, *model.input_shape], tf.float32, name="x")]
    e_sig = [tf.TensorSpec([None, *model.embedding_shape], tf.float32, name=EMBEDDING_LAYER)]
    archive = keras.export.ExportArchive()
    for part in (model.predict, model.embed, model.layers, model.head):
        archive.track(part)
    archive.add_endpoint(ENDPOINT_PREDICT, lambda x: model.predict(x, training=False), x_sig)
    archive.add_endpoint(ENDPOINT_EMBED, lambda x: model.embed(x, training=False), x_sig)
    archive.add_endpoint(ENDPOINT_LAYERS, lambda x: model.layers(x, training=False), x_sig)
    archive.add_endpoint(
        ENDPOINT_HEAD, lambda embedding: model.head(embedding, training=False), e_sig
    )

    x_in = (TensorSpec(name="x", shape=(None, *model.input_shape)),)
    heads = tuple(
        TensorSpec(name=k, shape=(None, len(about.class_names)))
        for k in (PROBABILITIES_LAYER, LOGITS_LAYER)
    )
    embedding = TensorSpec(name=EMBEDDING_LAYER, shape=(None, *model.embedding_shape))
    manifest = Manifest(
        name=name,
        version=version,
        task=about.task,
        architecture=about.architecture,
        description=about.description,
        class_names=about.class_names,
        input=input_spec,
        layers=model.layer_specs,
        embedding_layer=model.embedding_layer,
        endpoints={
            ENDPOINT_PREDICT: EndpointSpec(inputs=x_in, outputs=heads),
            ENDPOINT_EMBED: EndpointSpec(inputs=x_in, outputs=(embedding,)),
            ENDPOINT_LAYERS: EndpointSpec(
                inputs=x_in,
                outputs=tuple(
                    TensorSpec(name=s.name, shape=(None, *s.output_shape))
                    for s in model.layer_specs
                ),
            ),
            ENDPOINT_HEAD: EndpointSpec(inputs=(embedding,), outputs=heads),
        },
        training=training,
        dataset=dataset,
        framework=framework_versions(),
        created_at=datetime.now(UTC),
        reference=dict(about.reference),
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
        tails = model.tails(staging, input_spec, name) if model.tails else None
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
