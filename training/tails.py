"""Layer tails: per probe-able layer, the function from its activation to the outputs.

Layer attribution (``:explain?layer=``) integrates gradients of a class score with respect
to one layer's activation, so it needs that score as a function of the activation. The
exported endpoints only run from the input (``predict``, ``layers``) or the embedding
(``head``), and a restored SavedModel is a set of traced graphs, not layers the service
could re-chain without the training code. So the trainer exports a second SavedModel,
``tails/``, with one endpoint per layer, built from the very layer objects of the network:
at export from the trained network, and for versions exported before from the recipe's
architecture with the weights read back from the version's own SavedModel, matched by
variable name.

A tails folder ships only if every variable it holds is bit-equal to the version's
SavedModel variable of the same name and ``tail(layers(x)[L])`` gives ``predict(x)`` on
random inputs across the input range; it is written beside the version and renamed into
place before the manifest records it with its checksum, so a failed build changes nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from core.manifest import (
    LOGITS_LAYER,
    PROBABILITIES_LAYER,
    SAVED_MODEL_DIR,
    TAILS_DIR,
    InputSpec,
    Manifest,
    TailsRecord,
    tree_sha256,
)
from training.networks import Network, probed_layers, to_model
from training.recipes import ModelSpec

logger = logging.getLogger(__name__)

#: |tail(layers(x)[L]) - predict(x)| must stay within TOLERANCE * (1 + |predict(x)|).
TOLERANCE = 1e-5
#: Random inputs of the agreement check.
CHECK_ROWS = 8
#: Dropout's random state: not a weight, named by a process-wide counter, used in training only.
_RNG_STATE = "seed_generator_state"
#: Endpoint names the exported module uses itself: a layer of such a name gets no tail.
_RESERVED = frozenset({"variables", "trainable_variables", "non_trainable_variables", "signatures"})


def tail_layers(network: Network) -> tuple[str, ...]:
    """Every probe-able layer but ``probabilities``, from which the logits cannot be had."""
    return tuple(
        layer.name
        for layer in probed_layers(network)
        if layer.name != PROBABILITIES_LAYER
        and layer.name.isidentifier()
        and not layer.name.startswith("_")
        and layer.name not in _RESERVED
    )


def _tail(network: Network, name: str) -> Callable[[Any], dict[str, Any]]:
    """The chain after ``name`` (Dropout left out: it is the identity at inference)."""
    start = [layer.name for layer in network.chain].index(name) + 1
    rest = [la for la in network.chain[start:] if not isinstance(la, keras.layers.Dropout)]

    def run(activation: Any) -> dict[str, Any]:
        h, logits = activation, activation if name == LOGITS_LAYER else None
        for layer in rest:
            h = layer(h, training=False)
            if layer.name == LOGITS_LAYER:
                logits = h
        return {PROBABILITIES_LAYER: h, LOGITS_LAYER: logits}

    return run


def _weights(variables: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in variables.items() if not k.endswith(_RNG_STATE)}


def _write(network: Network, folder: Path, layers: tuple[str, ...]) -> None:
    inference = [la for la in network.chain if not isinstance(la, keras.layers.Dropout)]
    model = to_model(Network(network.input_shape, tuple(inference)), "tails")
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name in layers:
        shape = tuple(int(d) for d in model.get_layer(name).output.shape[1:])
        signature = [tf.TensorSpec([None, *shape], tf.float32, name=name)]
        archive.add_endpoint(name, _tail(network, name), signature)
    archive.write_out(str(folder), verbose=False)


def _variables(saved_model: Any) -> dict[str, np.ndarray]:
    """Name -> value; endpoints share variables, so a name may come several times, but
    two different values under one name make matching by name ambiguous."""
    values: dict[str, np.ndarray] = {}
    for variable in saved_model.variables:
        name, value = variable.name.removesuffix(":0"), variable.numpy()
        seen = values.setdefault(name, value)
        if seen is not value and seen.tobytes() != value.tobytes():
            raise ValueError(f"two different variables are named {name!r}")
    return values


def _check(
    tails_dir: Path, saved_model_dir: Path, layers: tuple[str, ...], spec: InputSpec
) -> float:
    """Raise ValueError unless the tails hold the version's weights bit for bit and agree
    with ``predict``; return the largest difference seen."""
    source, tails = (tf.saved_model.load(str(d)) for d in (saved_model_dir, tails_dir))
    reference, copied = _weights(_variables(source)), _weights(_variables(tails))
    if set(copied) != set(reference):
        raise ValueError(f"variables differ: {sorted(set(copied) ^ set(reference))}")
    for name, value in copied.items():
        want = reference[name]
        if (
            value.dtype != want.dtype
            or value.shape != want.shape
            or value.tobytes() != want.tobytes()
        ):
            raise ValueError(f"variable {name!r} is not bit-equal to the SavedModel's")
    low, high = spec.value_range
    x = np.random.default_rng(0).uniform(low, high, (CHECK_ROWS, *spec.shape)).astype(np.float32)
    activations = source.layers(tf.constant(x))
    expected = {k: v.numpy() for k, v in source.predict(tf.constant(x)).items()}
    worst = 0.0
    for name in layers:
        got = getattr(tails, name)(activations[name])
        for output, want in expected.items():
            diff = np.abs(got[output].numpy() - want)
            if not np.all(diff <= TOLERANCE * (1 + np.abs(want))):
                raise ValueError(f"tail of {name!r} misses predict's {output} by {diff.max():.3g}")
            worst = max(worst, float(diff.max()))
    return worst


def build_tails(network: Network, version_dir: Path, spec: InputSpec) -> TailsRecord:
    """Write ``version_dir/tails`` for the (built) ``network`` whose weights are those of
    ``version_dir``'s SavedModel, checked first; the caller records it in the manifest."""
    layers = tail_layers(network)
    return write_checked(version_dir, spec, layers, lambda folder: _write(network, folder, layers))


def write_checked(
    version_dir: Path, spec: InputSpec, layers: tuple[str, ...], write: Callable[[Path], None]
) -> TailsRecord:
    """``write(folder)`` a tails SavedModel with one endpoint per name in ``layers``, check
    it against the version's SavedModel, and rename it into ``version_dir/tails``: the part
    every kind of network shares (an imported graph writes its own endpoints)."""
    if not layers:
        raise ValueError("the network has no layer to attribute to")
    staging = version_dir / f".{TAILS_DIR}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write(staging)
        worst = _check(staging, version_dir / SAVED_MODEL_DIR, layers, spec)
        record = TailsRecord(
            layers=layers,
            sha256=tree_sha256(staging),
            size_bytes=sum(p.stat().st_size for p in staging.rglob("*") if p.is_file()),
            max_abs_diff=worst,
        )
        final = version_dir / TAILS_DIR
        shutil.rmtree(final, ignore_errors=True)  # a folder no manifest records
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return record


def try_tails(
    network: Network, version_dir: Path, spec: InputSpec, name: str
) -> TailsRecord | None:
    """``build_tails``, or None with a warning: attribution to the input still works."""
    try:
        return build_tails(network, version_dir, spec)
    except Exception as err:  # any failure leaves the version as it was
        logger.warning("%s: no layer tails (%s); layer= offers the embedding only", name, err)
        return None


def restored_network(spec: ModelSpec, saved_model_dir: Path) -> Network:
    """The recipe's network with every variable set from the SavedModel's of the same name
    (ValueError when the names or shapes do not match: the recipe changed since)."""
    network = spec.network()
    model = to_model(network, spec.name)
    reference = _weights(_variables(tf.saved_model.load(str(saved_model_dir))))
    mine = _weights({v.path: v for v in model.variables})
    if set(mine) != set(reference):
        raise ValueError(f"the recipe's variables differ: {sorted(set(mine) ^ set(reference))}")
    for path, variable in mine.items():
        if tuple(variable.shape) != reference[path].shape:
            raise ValueError(f"variable {path!r} has another shape in the recipe")
        variable.assign(reference[path])
    return network


def add_tails(version_dir: Path, spec: ModelSpec) -> Manifest | None:
    """Give an already exported version its tails in place, weights untouched: the folder
    first, then the manifest (atomically). None when they cannot be built."""
    manifest = Manifest.read(version_dir)
    if manifest.tails is not None:
        return manifest
    if manifest.architecture != spec.architecture:
        logger.warning("%s: exported as %s, the recipe is now %s: no layer tails",
                       manifest.name, manifest.architecture, spec.architecture)  # fmt: skip
        return None
    try:
        network = restored_network(spec, version_dir / SAVED_MODEL_DIR)
    except ValueError as err:
        logger.warning("%s v%d: no layer tails (%s)", manifest.name, manifest.version, err)
        return None
    record = try_tails(network, version_dir, manifest.input, manifest.name)
    if record is None:
        return None
    updated = manifest.model_copy(update={"tails": record})
    updated.write(version_dir)
    return updated
