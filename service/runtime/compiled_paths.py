"""Integrated-gradient paths of small batches compiled with XLA, adopted only when they pay.

The adaptive rule as one TensorFlow graph (``gradient_paths``) costs a dense model like
``digits`` about 5 ms of CPU a path, nearly all of it the executor's few microseconds per
op over the rule's eleven rounds, not arithmetic. XLA compiles the rounds, written out
(``adaptive_paths(..., unrolled=True)``), into one native function: about half the CPU
for one or two inputs (``digits``, one thread). It needs every shape static, so a compiled
path is made per step count, input shape and batch size: for 1 and 2 inputs (``BUCKETS``),
the sizes an interactive client's requests come in. Larger batches keep the graph, which
batching already makes cheap per path (four ``digits`` inputs compiled took 0.84 of the
graph's time: not worth the compile).

Compiling takes seconds (5-7 s for ``digits``), so it never happens on a request: the
first path of a kind is answered by the graph and queues the compile on one background
thread per process. When it is done the compiled path is run beside the graph on that
first request's inputs and adopted only if it places the same points (the same alphas,
values within float rounding) and takes at most ``ADOPT_AT`` of the graph's time. A
gradient function whose first compiled path loses, or fails, keeps the graph for good; a
larger batch that loses after smaller ones won keeps the graph for that size only.
Convolutional models are not tried (``Gradients``): XLA's convolutions on CPU take about
twice oneDNN's time, and compiling ``digits-cnn``'s path took over 30 s of a core.

XLA rounds differently from the graph (fused operations), so where two segments' errors
are equal up to float rounding the two can halve different ones: an equally good path of
the same steps. On 100 MNIST test digits (``digits``, 50 steps) the compiled path placed
the graph's points on 99; on the other the completeness gap moved by 8e-5.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from service.memory import trim_now

logger = logging.getLogger(__name__)

#: Batch sizes a path is compiled for; a batch of n inputs runs padded to the next one.
BUCKETS = (1, 2)
#: Compiled paths one worker keeps, over all its models: each holds about 50 MB resident
#: (``digits``, after ``malloc_trim``), and the first about 100 MB more (XLA's runtime),
#: so two (one model's one and two inputs, the interactive case) cost about 200 MB.
MAX_COMPILED = 2
#: Adopted only at this share of the graph's time or less (best of ``TIMING_CALLS`` each).
ADOPT_AT = 0.8
TIMING_CALLS = 5

PathParts = dict[str, np.ndarray]
#: (inputs, baselines, classes) -> each path's parts, one row per input.
Paths = Callable[[np.ndarray, np.ndarray, np.ndarray], PathParts]
#: steps -> the unrolled adaptive rule, for ``tf.function(jit_compile=True)`` to trace.
UnrolledRule = Callable[[int], Callable[..., Any]]

#: One compile at a time per process: each takes a core for seconds. (Its thread starts
#: with the first compile.)
_COMPILER = ThreadPoolExecutor(1, thread_name_prefix="path-compile")


class _Budget:
    """Compiles queued or adopted in this process: ``MAX_COMPILED`` at most."""

    def __init__(self) -> None:
        self.held = 0
        self._lock = threading.Lock()

    def reserve(self) -> bool:
        with self._lock:
            if self.held >= MAX_COMPILED:
                return False
            self.held += 1
            return True

    def release(self, count: int = 1) -> None:
        with self._lock:
            self.held = max(0, self.held - count)


BUDGET = _Budget()


def bucket(n: int) -> int | None:
    """The compiled batch size a batch of ``n`` inputs runs at, None past the largest."""
    return next((size for size in BUCKETS if n <= size), None)


def pad(arrays: tuple[np.ndarray, ...], size: int) -> tuple[np.ndarray, ...]:
    """Each array's rows, the last repeated up to ``size`` (a real input: no NaN paths)."""
    n = len(arrays[0])
    if n == size:
        return arrays
    return tuple(np.concatenate([a, np.repeat(a[-1:], size - n, axis=0)]) for a in arrays)


def same_points(compiled: PathParts, graph: PathParts) -> bool:
    """The compiled path places the graph's points and gives its values, up to rounding."""
    scale = float(np.abs(graph["attributions"]).max(initial=0.0))
    return (
        np.array_equal(compiled["alphas"], graph["alphas"])
        and np.allclose(compiled["path_values"], graph["path_values"], rtol=1e-5, atol=1e-7)
        and np.allclose(
            compiled["attributions"], graph["attributions"], rtol=1e-4, atol=1e-6 * scale
        )
    )


def _best_time(call: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(TIMING_CALLS):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


class CompiledPaths:
    """The compiled paths of one gradient function, keyed by (steps, shape, bucket)."""

    def __init__(self, unrolled_rule: UnrolledRule, *, enabled: bool = True) -> None:
        self._unrolled_rule = unrolled_rule
        self._lock = threading.Lock()
        #: key -> the adopted path, or None while compiling or once refused
        self._paths: dict[tuple[object, ...], Paths | None] = {}
        #: False once a compiled path lost to the graph (or compiling failed): keep it.
        self.enabled = enabled
        self._closed = False
        #: What happened to each compile, for the tests and the logs: key -> outcome.
        self.outcomes: dict[tuple[object, ...], str] = {}

    def close(self) -> None:
        """No more compiles (the version is unloading); queued ones are skipped, and the
        adopted ones' places go to other models."""
        self.enabled = False
        with self._lock:
            self._closed = True
            adopted = [key for key, path in self._paths.items() if path is not None]
            for key in adopted:
                self._paths[key] = None
        BUDGET.release(len(adopted))

    def run(
        self,
        steps: int,
        arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
        graph: Paths,
    ) -> PathParts:
        """The paths of ``arrays`` (inputs, baselines, classes): compiled when adopted,
        else by ``graph`` (queuing the compile the first time a kind is seen)."""
        n = len(arrays[0])
        size = bucket(n)
        if size is None or not self.enabled:
            return graph(*arrays)
        key = (steps, tuple(arrays[0].shape[1:]), size)
        compiled = self._paths.get(key)
        if compiled is not None:
            parts = compiled(*pad(arrays, size))
            return {name: part[:n] for name, part in parts.items()}
        parts = graph(*arrays)
        with self._lock:
            if key in self._paths or not BUDGET.reserve():
                return parts
            self._paths[key] = None
        sample = pad(arrays, size)
        _COMPILER.submit(self._compile, key, steps, sample, graph)
        return parts

    def _compile(
        self, key: tuple[object, ...], steps: int, sample: tuple[np.ndarray, ...], graph: Paths
    ) -> None:
        if not self.enabled:
            self.outcomes[key] = "skipped"
            BUDGET.release()
            return
        try:
            compiled = self._build(steps)
            started = time.perf_counter()
            first = compiled(*sample)  # compiles
            seconds = time.perf_counter() - started
            if not same_points(first, graph(*sample)):
                self._refuse(key, "placed other points than the graph")
                return
            compiled_time = _best_time(lambda: compiled(*sample))
            graph_time = _best_time(lambda: graph(*sample))
        except Exception as error:  # any XLA failure: keep the graph
            self._refuse(key, f"failed to compile: {type(error).__name__}: {error}"[:300])
            return
        finally:
            trim_now()  # the compiler's freed arenas: about 150 MB for digits
        if compiled_time > ADOPT_AT * graph_time:
            why = f"no faster: {compiled_time * 1e3:.2f} ms against {graph_time * 1e3:.2f}"
            # losing on the first kind is the model's arithmetic (convolutions): stop
            # compiling; losing on a larger batch after smaller ones won is that batch's
            self._refuse(key, why, everything="adopted" not in self.outcomes.values())
            return
        with self._lock:
            if self._closed:  # unloaded while compiling: nobody to use it
                self.outcomes[key] = "skipped"
                BUDGET.release()
                return
            self._paths[key] = compiled
        self.outcomes[key] = "adopted"
        logger.info(
            "integrated-gradient paths %s compiled in %.1f s: %.2f ms a call against the "
            "graph's %.2f",
            key,
            seconds,
            compiled_time * 1e3,
            graph_time * 1e3,
        )

    def _refuse(self, key: tuple[object, ...], why: str, *, everything: bool = True) -> None:
        if everything:
            self.enabled = False
        self.outcomes[key] = why
        BUDGET.release()
        logger.info("integrated-gradient paths %s keep the graph: %s", key, why)

    def _build(self, steps: int) -> Paths:
        import tensorflow as tf

        function = tf.function(self._unrolled_rule(steps), jit_compile=True)

        def run(inputs: np.ndarray, baselines: np.ndarray, classes: np.ndarray) -> PathParts:
            parts = function(
                tf.constant(inputs, dtype=tf.float32),
                tf.constant(baselines, dtype=tf.float32),
                tf.constant(classes, dtype=tf.int32),
            )
            return {name: tensor.numpy() for name, tensor in parts.items()}

        return run
