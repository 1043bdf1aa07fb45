"""Gradients of one class's probability (or logit) from a loaded SavedModel.

Built when a version loads, from the restored ``predict`` and ``head`` functions, rather than
exported as a separate endpoint: a restored function is differentiable, so every version ever
exported gets gradients with no new artefact and no re-export, and the weights used are the
very ones ``predict`` serves. LiteRT copies have no gradients, so attributions always run on
TensorFlow. Each function is traced on its first call (a few hundred milliseconds once per
version and output), not at load, so versions nobody explains cost nothing.

Other layers need the score as a function of their activation, which the restored endpoints
do not offer: the trainer exports those as ``tails/`` (training.tails), a second SavedModel
that the loader checks against the manifest's checksum and hands over here unopened; it is
loaded on the first layer attribution, its endpoint per layer traced on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from core.manifest import ENDPOINT_HEAD, ENDPOINT_PREDICT, LOGITS_LAYER, PROBABILITIES_LAYER

if TYPE_CHECKING:
    from service.runtime.runners import Runner

Target = Literal["probability", "logit"]
#: What ``Gradients.of`` differentiates: the model's input (``predict``) or embedding (``head``).
Space = Literal["input", "embedding"]
GradientFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
#: Loads the version's tails SavedModel (blocking; called once, in the thread pool).
TailsLoader = Callable[[], Any]

_OUTPUT_OF: dict[Target, str] = {"probability": PROBABILITIES_LAYER, "logit": LOGITS_LAYER}
_ENDPOINT_OF: dict[Space, str] = {"input": ENDPOINT_PREDICT, "embedding": ENDPOINT_HEAD}


class Gradients:
    """``of(space, target)(x, classes)`` -> (f(x), df/dx), one row per class index."""

    def __init__(
        self,
        saved_model: Any,
        *,
        tail_layers: tuple[str, ...] = (),
        load_tails: TailsLoader | None = None,
    ) -> None:
        self._saved_model = saved_model
        self._fns: dict[tuple[str, Target], GradientFn] = {}
        self._lock = threading.Lock()
        #: Layers ``of_layer`` takes: those with a tail whose checksum matched at load.
        self.tail_layers = tail_layers if load_tails is not None else ()
        self._load_tails = load_tails
        self._tails: Any = None
        #: Graphs traced so far, over every function (one per function and input shape).
        self.traces = 0
        #: (space or layer, target, steps, rule) -> the runner that batches concurrent
        #: requests' integrated-gradient paths, made on first use by
        #: ``service.features.explain.paths``.
        self.path_runners: dict[tuple[str, str, int, str], Runner] = {}

    async def close(self) -> None:
        """Run the paths queued, then stop their batchers (a version unloading)."""
        for runner in list(self.path_runners.values()):
            await runner.close()

    def of(self, space: Space, target: Target) -> GradientFn:
        key = (space, target)
        with self._lock:
            fn = self._fns.get(key)
            if fn is None:
                fn = self._fns[key] = self._build(_ENDPOINT_OF[space], _OUTPUT_OF[target])
        return fn

    def of_layer(self, layer: str, target: Target) -> GradientFn:
        """Gradients with respect to ``layer``'s activation, through its tail."""
        if layer not in self.tail_layers:
            raise KeyError(layer)
        key = (f"tail:{layer}", target)
        with self._lock:
            fn = self._fns.get(key)
            if fn is None:
                if self._tails is None:
                    if self._load_tails is None:  # tail_layers is empty without a loader
                        raise KeyError(layer)
                    self._tails = self._load_tails()
                fn = self._fns[key] = self._build(layer, _OUTPUT_OF[target], self._tails)
        return fn

    def _build(self, endpoint: str, output: str, module: Any = None) -> GradientFn:
        """One traced graph per input shape, called as a concrete function.

        Its signature leaves the batch dimension open, so every batch size (the adaptive
        rule's rounds carry 4 to 9 rows per input, batched requests more) runs the same
        graph: no retracing per request (``traces`` counts them), and no per-call search
        of a polymorphic function's traces.
        """
        import tensorflow as tf

        model_fn = getattr(self._saved_model if module is None else module, endpoint)

        @tf.function
        def values_and_gradients(x: Any, classes: Any) -> tuple[Any, Any]:
            self.traces += 1  # Python runs only while tracing
            with tf.GradientTape() as tape:
                tape.watch(x)
                f = tf.gather(model_fn(x)[output], classes, batch_dims=1)
            return f, tape.gradient(f, x)

        traced: dict[tuple[int, ...], Any] = {}

        def run(x: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            shape = tuple(x.shape[1:])
            fn = traced.get(shape)
            if fn is None:
                fn = traced.setdefault(
                    shape,
                    values_and_gradients.get_concrete_function(
                        tf.TensorSpec((None, *shape), tf.float32),
                        tf.TensorSpec((None,), tf.int32),
                    ),
                )
            f, g = fn(tf.constant(x, dtype=tf.float32), tf.constant(classes, dtype=tf.int32))
            return f.numpy(), g.numpy()

        return run
