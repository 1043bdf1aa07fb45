"""Compile a version's endpoints for LiteRT and check them against its SavedModel.

The compiled copy only ships if every output of every endpoint agrees with the SavedModel
on the check inputs (``core.litert.check_agreement``: random instances across the input
range, at two batch sizes), so the service can run it in place of TensorFlow without
changing an answer beyond float32 rounding. Conversion problems are reported, not fatal:
the SavedModel alone still serves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from core.litert import CompiledEndpoints, EndpointFn, check_agreement, sha256_hex
from core.manifest import (
    ENDPOINTS,
    LITERT_FILE,
    SAVED_MODEL_DIR,
    CompiledRecord,
    InputSpec,
    Manifest,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Compiled:
    model: bytes
    record: CompiledRecord


def compile_litert(saved_model_dir: Path, input_spec: InputSpec, *, seed: int = 0) -> Compiled:
    """Convert every endpoint into one flatbuffer; raise ValueError if any output disagrees
    (``core.litert.check_agreement``, the check the service repeats at load)."""
    converter = tf.lite.TFLiteConverter.from_saved_model(
        str(saved_model_dir), signature_keys=list(ENDPOINTS)
    )
    model = converter.convert()
    compiled = CompiledEndpoints(model)
    reference = tf.saved_model.load(str(saved_model_dir))
    agreement = check_agreement(
        {e: _numpy_endpoint(getattr(reference, e)) for e in ENDPOINTS},
        {e: compiled.endpoint(e) for e in ENDPOINTS},
        input_spec,
        seed=seed,
    )
    if agreement.problems:
        raise ValueError("; ".join(f"{e} {why}" for e, why in agreement.problems.items()))
    record = CompiledRecord(
        sha256=sha256_hex(model),
        endpoints=ENDPOINTS,
        max_abs_diff=agreement.max_abs_diff,
        converter=tf.__version__,
    )
    return Compiled(model=model, record=record)


def _numpy_endpoint(fn: Any) -> EndpointFn:
    """A SavedModel endpoint called with and answering NumPy arrays."""

    def run(x: np.ndarray) -> dict[str, np.ndarray]:
        return {key: value.numpy() for key, value in fn(tf.constant(x)).items()}

    return run


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
