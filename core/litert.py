"""Run model endpoints compiled for LiteRT (the TensorFlow Lite runtime).

A SavedModel call pays several hundred microseconds of TensorFlow function-call overhead
whatever the batch, which dominated the serving path for these small networks; the
same dense 784-128-10 network runs in about 12 us for one row under LiteRT's XNNPACK
kernels. Training writes the compiled copy and checks it against the SavedModel; the
service runs it and keeps the SavedModel as the fallback.

An interpreter is not thread-safe, so each endpoint gets its own interpreter and lock.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping

import numpy as np

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
