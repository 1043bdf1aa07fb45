"""Run model endpoints compiled for LiteRT (the TensorFlow Lite runtime).

A SavedModel call pays several hundred microseconds of TensorFlow function-call overhead
whatever the batch, which dominated the serving path for these small networks; the
same dense 784-128-10 network runs in about 12 us for one row under LiteRT's XNNPACK
kernels. Training writes the compiled copy and checks it against the SavedModel; the
service checks it again when it loads the version (a copy can be stale or swapped after
export), runs it, and keeps the SavedModel as the fallback. Both run the one check here,
``check_agreement``, so export and load cannot come to hold different ideas of "agrees".

An interpreter is not thread-safe, so each endpoint gets its own interpreter and lock.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.manifest import EMBEDDING_LAYER, ENDPOINT_EMBED, ENDPOINT_HEAD, InputSpec

EndpointFn = Callable[[np.ndarray], dict[str, np.ndarray]]


class CompiledEndpoints:
    """The endpoints of one ``.tflite`` flatbuffer, each callable with a float32 batch."""

    def __init__(self, model: bytes, *, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._model = model
        self._threads = threads
        self._interpreter = Interpreter
        probe = Interpreter(model_content=model, num_threads=threads)
        self.signatures: Mapping[str, Mapping[str, list[str]]] = probe.get_signature_list()

    def endpoint(self, name: str) -> EndpointFn:
        """A callable for ``name`` with its own interpreter, safe to call from any thread."""
        if name not in self.signatures:
            raise KeyError(f"no compiled endpoint {name!r}")
        (input_name,) = self.signatures[name]["inputs"]
        interpreter = self._interpreter(model_content=self._model, num_threads=self._threads)
        runner = interpreter.get_signature_runner(name)
        lock = threading.Lock()

        def run(x: np.ndarray) -> dict[str, np.ndarray]:
            batch = np.ascontiguousarray(x, dtype=np.float32)
            with lock:
                return runner(**{input_name: batch})

        return run


#: A compiled output may differ from the SavedModel's by float32 rounding only (the
#: kernels sum in another order): checked at export and again when the service loads it.
ATOL = 1e-4
RTOL = 1e-4
#: Batch sizes of the check: one row (the most common request) and a small batch.
CHECK_BATCHES = (1, 16)


@dataclass(frozen=True)
class Agreement:
    """How a version's compiled endpoints answered next to its SavedModel's."""

    #: Endpoint -> why its compiled copy must not serve. Endpoints missing here agree,
    #: or have no compiled copy.
    problems: Mapping[str, str]
    #: Largest |compiled - SavedModel| over every output of the copies that agree.
    max_abs_diff: float


def check_agreement(
    reference: Mapping[str, EndpointFn],
    compiled: Mapping[str, EndpointFn],
    input_spec: InputSpec,
    *,
    batches: Sequence[int] = CHECK_BATCHES,
    seed: int = 0,
) -> Agreement:
    """Compare each compiled endpoint with the SavedModel's (``reference``) on seeded random
    instances across the input range, at each batch size; ``head`` gets the embedding of
    the same instances. Every reference endpoint is called, compiled copy or not, so the
    check also warms them all."""
    rng = np.random.default_rng(seed)
    low, high = input_spec.value_range
    problems: dict[str, str] = {}
    worst = 0.0
    for rows in batches:
        x = rng.uniform(low, high, size=(rows, *input_spec.shape)).astype(np.float32)
        embedded = reference[ENDPOINT_EMBED](x)
        for endpoint, run in reference.items():
            given = embedded[EMBEDDING_LAYER] if endpoint == ENDPOINT_HEAD else x
            want = embedded if endpoint == ENDPOINT_EMBED else run(given)
            copy = compiled.get(endpoint)
            if copy is None or endpoint in problems:
                continue
            got = copy(given)
            problem = disagreement(got, want)
            if problem:
                problems[endpoint] = f"at batch {rows}: {problem}"
            else:
                worst = max(worst, *(max_abs_diff(got[k], want[k]) for k in want))
    return Agreement(problems=problems, max_abs_diff=worst)


def disagreement(got: Mapping[str, np.ndarray], want: Mapping[str, np.ndarray]) -> str | None:
    """Why ``got`` is not ``want`` within float32 rounding, or None when they agree."""
    if set(got) != set(want):
        return f"outputs {sorted(got)} instead of {sorted(want)}"
    for name, expected in want.items():
        if got[name].shape != expected.shape:
            return f"{name}: shape {got[name].shape} instead of {expected.shape}"
        if not np.allclose(got[name], expected, atol=ATOL, rtol=RTOL):
            return f"{name} differs by up to {max_abs_diff(got[name], expected):g}"
    return None


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b), initial=0.0))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
