"""The adaptive integrated-gradients rule as one TensorFlow graph.

``service.features.explain.methods.adaptive_integrated_gradients`` is the rule written over
plain arrays: eleven rounds, each a gradient call and a little NumPy to pick the segments
to bisect next. On a small model each call's fixed cost (handing tensors over, running the
restored function's graph) is most of a request: for ``digits``, 11 calls of about 0.7 ms
against 0.1 ms of arithmetic. Here the same rounds run inside one traced graph, as a
``tf.while_loop`` reading the schedule (which depends only on ``steps``:
``adaptive_schedule``), so a batch of paths costs one call. The arithmetic is the NumPy
version's, op for op and in the same precision (float64 for the bookkeeping, float32
through the model), so it places the same points;
the tests hold the two within float rounding of each other. TensorFlow is imported on the
first graph built, so the NumPy rule can read the schedule without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf

#: The adaptive rule: uniform segments first, then this many rounds of bisection.
ADAPTIVE_START = 8
ADAPTIVE_ROUNDS = 10


def adaptive_schedule(steps: int) -> tuple[int, tuple[int, ...]]:
    """The adaptive rule's uniform segments and how many points each round adds.

    Fixed by ``steps`` alone (not by the input), so a traced graph of the rule
    (``adaptive_paths``) unrolls the same rounds.
    """
    start = min(ADAPTIVE_START, steps)
    takes: list[int] = []
    budget, points = steps - start, start + 1
    while budget > 0:
        # spread the budget over the rounds left; a round can at most halve every segment
        rounds_left = max(1, ADAPTIVE_ROUNDS - len(takes))
        take = min(max(1, budget // rounds_left), points - 1)
        takes.append(take)
        points += take
        budget -= take
    return start, tuple(takes)


#: (x, classes) -> (f, df/dx) as tensors: one class score per row and its gradient.
TensorGradient = Callable[[Any, Any], tuple[Any, Any]]


#: Columns of the per-point table the rounds carry: (n, points, 4) float64, sorted by alpha.
ALPHA, F, SLOPE, COMPUTED = 0, 1, 2, 3


def adaptive_paths(
    values_and_gradients: TensorGradient, steps: int, *, unrolled: bool = False
) -> Callable[[Any, Any, Any], dict[str, Any]]:
    """``(inputs, baselines, classes) -> parts`` of the adaptive rule with ``steps``, for a
    ``tf.function`` to trace; ``inputs`` and ``baselines`` are (n, *shape) float32.

    The rounds are one ``tf.while_loop`` (its body traced once: unrolled, the eleven
    rounds were 1,700 ops and took over a second to trace), the number of points each
    adds read from the schedule. Each point's alpha, f, slope and place among the computed
    gradients travel as one table, so a round sorts them with one gather; a round's
    fixed cost (every op is a few microseconds) is most of a small model's path.

    ``unrolled``: the rounds written out one after the other instead, every shape static
    once the batch size is: the form XLA compiles (``service.runtime.compiled_paths``),
    which a loop whose table grows each round is not.
    """
    import tensorflow as tf

    start, takes = adaptive_schedule(steps)

    def run(inputs: tf.Tensor, baselines: tf.Tensor, classes: tf.Tensor) -> dict[str, Any]:
        n = tf.shape(inputs)[0]
        rows_shape = tf.shape(inputs)[1:]
        ends = tf.reshape(baselines, (n, 1, -1))
        difference = tf.reshape(inputs - baselines, (n, 1, -1))
        delta = tf.cast(difference[:, 0], tf.float64)

        def evaluate(at: tf.Tensor, first: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            """The table's rows for alphas ``at`` (n, k), computed as gradients ``first``
            onwards, and their gradients (n, k, size)."""
            k = tf.shape(at)[1]
            rows = ends + tf.cast(at, tf.float32)[:, :, None] * difference
            rows = tf.reshape(rows, tf.concat([[n * k], rows_shape], axis=0))
            repeated = tf.reshape(tf.tile(classes[:, None], (1, k)), (-1,))
            f, g = values_and_gradients(rows, repeated)
            f = tf.reshape(tf.cast(f, tf.float64), (n, k))
            g = tf.reshape(tf.cast(g, tf.float64), (n, k, -1))
            slopes = tf.einsum("nkd,nd->nk", g, delta)
            place = tf.broadcast_to(tf.cast(tf.range(first, first + k), tf.float64), (n, k))
            return tf.stack([at, f, slopes, place], axis=2), g

        grid = tf.constant(np.linspace(0.0, 1.0, start + 1), tf.float64)
        table, gradients = evaluate(tf.tile(grid[None], (n, 1)), 0)
        schedule = tf.constant(takes or (0,), tf.int32)

        def bisect(
            take: Any, computed: Any, table: tf.Tensor, gradients: tf.Tensor
        ) -> tuple[tf.Tensor, tf.Tensor]:
            """One round: the ``take`` segments with the largest errors halved; ``computed``
            gradients so far."""
            alphas, f, slopes = table[:, :, ALPHA], table[:, :, F], table[:, :, SLOPE]
            widths = alphas[:, 1:] - alphas[:, :-1]
            trapezoid = widths * (slopes[:, :-1] + slopes[:, 1:]) / 2
            errors = tf.abs((f[:, 1:] - f[:, :-1]) - trapezoid)
            # the largest errors first, ties to the earlier segment (NumPy's stable argsort)
            worst = tf.math.top_k(errors, k=take).indices
            mids = (
                tf.gather(alphas, worst, batch_dims=1) + tf.gather(alphas, worst + 1, batch_dims=1)
            ) / 2
            new, gradients_new = evaluate(mids, computed)
            table = tf.concat([table, new], axis=1)
            order = tf.argsort(table[:, :, ALPHA], axis=1, stable=True)
            table = tf.gather(table, order, batch_dims=1)
            return table, tf.concat([gradients, gradients_new], axis=1)

        if unrolled:
            computed = start + 1
            for take in takes:
                table, gradients = bisect(take, computed, table, gradients)
                computed += take
        else:

            def round_(i: tf.Tensor, table: tf.Tensor, gradients: tf.Tensor) -> tuple[Any, ...]:
                return i + 1, *bisect(schedule[i], tf.shape(gradients)[1], table, gradients)

            _, table, gradients = tf.while_loop(
                lambda i, *_: i < len(takes),
                round_,
                (tf.constant(0), table, gradients),
                shape_invariants=(
                    tf.TensorShape([]),
                    tf.TensorShape([None, None, 4]),
                    tf.TensorShape([None, None, None]),
                ),
            )
        alphas, f = table[:, :, ALPHA], table[:, :, F]
        g = tf.gather(gradients, tf.cast(table[:, :, COMPUTED], tf.int32), batch_dims=1)
        widths = alphas[:, 1:] - alphas[:, :-1]
        zero = tf.zeros((n, 1), tf.float64)
        weights = tf.concat([widths / 2, zero], axis=1) + tf.concat([zero, widths / 2], axis=1)
        mean_gradient = tf.einsum("np,npd->nd", weights, g)
        attributions = tf.cast(delta * mean_gradient, tf.float32)
        return {
            "attributions": tf.reshape(attributions, tf.shape(inputs)),
            "value": f[:, -1],
            "baseline_value": f[:, 0],
            "alphas": alphas,
            "path_values": f,
        }

    return run
