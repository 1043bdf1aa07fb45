"""Compile a version's endpoints for LiteRT and check them against its SavedModel.

The compiled copy only ships if every output of every endpoint agrees with the SavedModel
on the check inputs (random instances across the input range, at two batch sizes), so the
service can run it in place of TensorFlow without changing an answer beyond float32
rounding. Conversion problems are reported, not fatal: the SavedModel alone still serves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from core.litert import CompiledEndpoints, disagreement, max_abs_diff, sha256_hex
from core.manifest import (
    ENDPOINT_EMBED,
    ENDPOINT_HEAD,
    ENDPOINTS,
    LITERT_FILE,
    SAVED_MODEL_DIR,
    CompiledRecord,
    InputSpec,
    Manifest,
)

logger = logging.getLogger(__name__)

CHECK_BATCHES = (1, 16)


@dataclass(frozen=True)
class Compiled:
    model: bytes
    record: CompiledRecord


def compile_litert(saved_model_dir: Path, input_spec: InputSpec, *, seed: int = 0) -> Compiled:
    """Convert every endpoint into one flatbuffer; raise ValueError if any output disagrees."""
    converter = tf.lite.TFLiteConverter.from_saved_model(
        str(saved_model_dir), signature_keys=list(ENDPOINTS)
    )
    model = converter.convert()
    compiled = CompiledEndpoints(model)
    reference = tf.saved_model.load(str(saved_model_dir))
    rng = np.random.default_rng(seed)
    low, high = input_spec.value_range
    worst = 0.0
    for rows in CHECK_BATCHES:
        x = rng.uniform(low, high, size=(rows, *input_spec.shape)).astype(np.float32)
        embedding = reference.signatures[ENDPOINT_EMBED](x=tf.constant(x))["embedding"].numpy()
        for endpoint in ENDPOINTS:
            given = embedding if endpoint == ENDPOINT_HEAD else x
            arg = "embedding" if endpoint == ENDPOINT_HEAD else "x"
            expected = reference.signatures[endpoint](**{arg: tf.constant(given)})
            want = {key: value.numpy() for key, value in expected.items()}
            got = compiled.endpoint(endpoint)(given)
            problem = disagreement(got, want)
            if problem:
                raise ValueError(f"{endpoint} at batch {rows}: {problem}")
            worst = max(worst, *(max_abs_diff(got[k], want[k]) for k in want))
    record = CompiledRecord(
        sha256=sha256_hex(model),
        endpoints=ENDPOINTS,
        max_abs_diff=worst,
        converter=tf.__version__,
    )
    return Compiled(model=model, record=record)


def try_compile(saved_model_dir: Path, input_spec: InputSpec, name: str) -> Compiled | None:
    """``compile_litert``, or None with a warning when conversion or the check fails."""
    try:
        return compile_litert(saved_model_dir, input_spec)
    except Exception as err:  # any converter failure leaves the SavedModel serving alone
        logger.warning("%s: no LiteRT copy (%s); the SavedModel serves alone", name, err)
        return None


def add_compiled(version_dir: Path) -> Manifest | None:
    """Compile an already exported version in place (for repositories exported before
    LiteRT copies existed). The file is written first and the manifest last, each
    atomically, so a reader sees either no record or a record with its file."""
    manifest = Manifest.read(version_dir)
    if manifest.compiled is not None:
        return manifest
    compiled = try_compile(version_dir / SAVED_MODEL_DIR, manifest.input, manifest.name)
    if compiled is None:
        return None
    write_compiled(version_dir, compiled.model)
    updated = manifest.model_copy(update={"compiled": compiled.record})
    updated.write(version_dir)
    return updated


def write_compiled(version_dir: Path, model: bytes) -> None:
    path = version_dir / LITERT_FILE
    tmp = path.with_suffix(".tflite.tmp")
    tmp.write_bytes(model)
    tmp.replace(path)
