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
from service.runtime.compiled_paths import CompiledPaths

if TYPE_CHECKING:
    from service.runtime.runners import Runner

Target = Literal["probability", "logit"]
#: What ``Gradients.of`` differentiates: the model's input (``predict``) or embedding (``head``).
Space = Literal["input", "embedding"]
GradientFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
#: Each path's parts (attributions, value, baseline_value, alphas, path_values), a row an input.
PathParts = dict[str, np.ndarray]
PathsFn = Callable[[np.ndarray, np.ndarray, np.ndarray], PathParts]
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
        compile_paths: bool = False,
    ) -> None:
        self._saved_model = saved_model
        #: Compile small batches' paths with XLA where it pays (``compiled_paths``); not
        #: tried on a model with convolutions (4-D kernels): XLA's convolutions take about
        #: twice oneDNN's time here, and compiling ``digits-cnn``'s path took over 30 s of
        #: a core, wasted, in every worker.
        self._compile_paths = compile_paths and not any(
            len(variable.shape) == 4 for variable in getattr(saved_model, "variables", ())
        )
        self._fns: dict[tuple[str, Target], GradientFunction] = {}
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
        for fn in list(self._fns.values()):
            fn.compiled_paths.close()
        for runner in list(self.path_runners.values()):
            await runner.close()

    def of(self, space: Space, target: Target) -> GradientFunction:
        key = (space, target)
        with self._lock:
            fn = self._fns.get(key)
            if fn is None:
                fn = self._fns[key] = self._build(_ENDPOINT_OF[space], _OUTPUT_OF[target])
        return fn

    def of_layer(self, layer: str, target: Target) -> GradientFunction:
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

    def _build(self, endpoint: str, output: str, module: Any = None) -> GradientFunction:
        import tensorflow as tf

        model_fn = getattr(self._saved_model if module is None else module, endpoint)

        def values_and_gradients(x: Any, classes: Any) -> tuple[Any, Any]:
            with tf.GradientTape() as tape:
                tape.watch(x)
                f = tf.gather(model_fn(x)[output], classes, batch_dims=1)
            return f, tape.gradient(f, x)

        return GradientFunction(
            values_and_gradients, self._traced, compile_paths=self._compile_paths
        )

    def _traced(self) -> None:
        self.traces += 1


#: Step counts one gradient function keeps a path graph for (each takes 0.4-0.9 s to
#: trace); past them a path takes the round-by-round rule, so a client sweeping ``steps``
#: costs no more traces.
MAX_PATH_GRAPHS = 8


class GradientFunction:
    """``(x, classes) -> (f(x), df/dx)`` over arrays, one traced graph per input shape;
    ``adaptive_paths(steps)`` runs whole integrated-gradient paths as one graph.

    Each graph's signature leaves the batch dimension open, so every batch size (the
    adaptive rule's rounds carry 4 to 9 rows per input, batched requests more) runs the
    same graph: no retracing per request (``Gradients.traces`` counts them), and no
    per-call search of a polymorphic function's traces. These graphs are not compiled with
    XLA, which specialises on every batch size (seconds of compiling for each); with
    ``compile_paths``, paths of 1 or 2 inputs are, in the background, and replace the
    graph where they measure faster (``service.runtime.compiled_paths``).
    """

    def __init__(
        self,
        values_and_gradients: Callable[[Any, Any], Any],
        on_trace: Callable[[], None],
        *,
        compile_paths: bool = False,
    ) -> None:
        self._values_and_gradients = values_and_gradients
        self._on_trace = on_trace
        self._graphs: dict[tuple[object, ...], Any] = {}
        self._lock = threading.RLock()  # an adaptive graph traces the values graph inside
        self._path_steps: set[int] = set()
        self.compiled_paths = CompiledPaths(self._unrolled_rule, enabled=compile_paths)

    def _unrolled_rule(self, steps: int) -> Callable[..., Any]:
        from service.runtime.gradient_paths import adaptive_paths

        # the model's gradient traced into the rounds: XLA compiles them as one function
        return adaptive_paths(self._values_and_gradients, steps, unrolled=True)

    def _graph(self, key: tuple[object, ...], build: Callable[[], Any], *specs: Any) -> Any:
        """The concrete function ``key`` names, traced from ``build()`` on first use."""
        import tensorflow as tf

        graph = self._graphs.get(key)
        if graph is None:
            with self._lock:
                graph = self._graphs.get(key)
                if graph is None:
                    traced = build()

                    def counted(*args: Any) -> Any:
                        self._on_trace()  # Python runs only while tracing
                        return traced(*args)

                    graph = self._graphs[key] = tf.function(counted).get_concrete_function(*specs)
        return graph

    def _values(self, shape: tuple[int, ...]) -> Any:
        import tensorflow as tf

        return self._graph(
            ("values", shape),
            lambda: self._values_and_gradients,
            tf.TensorSpec((None, *shape), tf.float32),
            tf.TensorSpec((None,), tf.int32),
        )

    def __call__(self, x: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import tensorflow as tf

        graph = self._values(tuple(x.shape[1:]))
        f, g = graph(tf.constant(x, dtype=tf.float32), tf.constant(classes, dtype=tf.int32))
        return f.numpy(), g.numpy()

    def adaptive_paths(self, steps: int) -> PathsFn | None:
        """``(inputs, baselines, classes) -> parts`` of ``methods.integrated_gradients``
        with the adaptive rule, as one graph call (``service.runtime.gradient_paths``);
        None past ``MAX_PATH_GRAPHS`` step counts (the caller takes the NumPy rule)."""
        import tensorflow as tf

        from service.runtime.gradient_paths import adaptive_paths

        with self._lock:
            if steps not in self._path_steps:
                if len(self._path_steps) >= MAX_PATH_GRAPHS:
                    return None
                self._path_steps.add(steps)

        def graph_run(inputs: np.ndarray, baselines: np.ndarray, classes: np.ndarray) -> PathParts:
            shape = tuple(inputs.shape[1:])
            spec = tf.TensorSpec((None, *shape), tf.float32)
            graph = self._graph(
                ("adaptive", steps, shape),
                # the loop calls the traced gradient graph, so another step count
                # traces only the loop (0.4 s, against 0.8 s with the model's gradient)
                lambda: adaptive_paths(self._values(shape), steps),
                spec,
                spec,
                tf.TensorSpec((None,), tf.int32),
            )
            parts = graph(
                tf.constant(inputs, dtype=tf.float32),
                tf.constant(baselines, dtype=tf.float32),
                tf.constant(classes, dtype=tf.int32),
            )
            return {name: tensor.numpy() for name, tensor in parts.items()}

        def run(inputs: np.ndarray, baselines: np.ndarray, classes: np.ndarray) -> PathParts:
            return self.compiled_paths.run(steps, (inputs, baselines, classes), graph_run)

        return run
