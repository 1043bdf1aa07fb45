"""Several models at once: one process per job, each TensorFlow with a share of the cores.

One model at a time keeps about 1.2 of 2 cores busy: only fitting a network uses both,
and the evaluations, neighbour indexes, calibration and 2-D maps after it run on one
thread. Two processes with one TensorFlow thread each overlap one model's fitting with
the other's evaluation, and two one-thread fits of `cnn-32-64` together do a little
more work per second than one two-thread fit (52-59 s against 33 s per epoch each; 2-core
AMD EPYC, oneDNN on). Two processes that keep TensorFlow's default thread pools (one
thread per core each) fight for the cores instead: 59 and 118 s per epoch.

Processes, not threads: TensorFlow's thread pools and op determinism are per process.
Workers are spawned (never forked: TensorFlow's runtime does not survive a fork) and
take the longest recipes first, so the last to finish is a short one. The parent keeps
the progress bars and the status file; a worker sends it epoch events on a queue.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.resources import probe
from core.settings import Settings

#: More jobs than this only multiply the memory (each holds its datasets and TensorFlow).
MAX_JOBS = 4
_LARGE_DATASETS = frozenset({"mnist", "fashion-mnist"})


@dataclass(frozen=True)
class RunOptions:
    """What every worker needs to run ``pipeline.run_model`` (sent to it once, pickled)."""

    models_dir: Path
    data_dir: Path
    database_url: str
    profile: str
    seed: int
    force: bool = False
    epochs: int | None = None
    fit_maps: bool = True

    @classmethod
    def of(cls, settings: Settings, **run: Any) -> RunOptions:
        """The settings' folders, database and profile, with ``run``'s per-run choices."""
        return cls(
            models_dir=settings.models_dir,
            data_dir=settings.data_dir,
            database_url=settings.database_url,
            profile=settings.train_profile,
            **run,
        )


@dataclass(frozen=True)
class Finished:
    """A worker's answer for one model: the fields of ``pipeline.Outcome`` but the spec."""

    name: str
    version: int = 0
    status: str = ""
    seconds: float = 0.0
    test_accuracy: float | None = None
    #: A dataset error's message (missing or corrupt data): the parent raises it again.
    dataset_error: str | None = None


#: ("begin", model, epochs) when a fit starts; ("epoch", model, validation accuracy or None)
#: after each epoch.
Event = tuple[str, str, Any]


def job_count(requested: int, models: int, cpus: int | None = None) -> int:
    """``requested`` jobs, or (0) one per usable core up to ``MAX_JOBS``; never more jobs
    than models."""
    wanted = requested or min(cpus or probe().cpus, MAX_JOBS)
    return max(1, min(wanted, models))


def threads_per_job(jobs: int, cpus: int | None = None) -> int:
    """The usable cores shared by the jobs (at least one thread each)."""
    return max(1, (cpus or probe().cpus) // jobs)


def longest_first(names: Sequence[str]) -> list[str]:
    """The recipes in a rough order of their cost: convolutional networks first, then the
    other networks on the 60,000-image datasets, then the small ones; more epochs first."""
    from training.recipes import get_spec

    def cost(name: str) -> tuple[bool, bool, int]:
        spec = get_spec(name)
        large = spec.dataset in _LARGE_DATASETS
        return ("cnn" in spec.architecture, large, spec.fit.epochs)

    return sorted(names, key=cost, reverse=True)


def run_in_processes(
    names: Sequence[str],
    options: RunOptions,
    *,
    jobs: int,
    threads: int,
    on_event: Callable[[Event], None],
) -> Iterator[Finished]:
    """Run ``names`` on ``jobs`` spawned workers; yield each model's result as it ends.

    Leaving early (an exception, Ctrl-C, SIGTERM turned into KeyboardInterrupt) terminates
    the workers: a half-trained model leaves at most an unevaluated version, which the next
    run evaluates instead of retraining (``pipeline.run_model``).
    """
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    stop = threading.Event()
    relay = threading.Thread(target=_relay, args=(events, on_event, stop), daemon=True)
    relay.start()
    try:
        with context.Pool(
            jobs, initializer=_start_worker, initargs=(options, threads, events)
        ) as pool:
            # chunksize 1: each worker asks for the next model when it is free.
            yield from pool.imap_unordered(_run_one, longest_first(names), chunksize=1)
    finally:
        stop.set()
        relay.join(timeout=5)


def _relay(events: Any, on_event: Callable[[Event], None], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            on_event(events.get(timeout=0.2))
        except queue.Empty:
            continue
        except (EOFError, OSError):
            return


# --- in a worker -------------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _start_worker(options: RunOptions, threads: int, events: Any) -> None:
    # The parent handles Ctrl-C (it terminates the pool); a worker must not die half-way
    # through a database write on the terminal's SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import tensorflow as tf

    from core.db import make_engine
    from training import pipeline

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    tf.config.experimental.enable_op_determinism()
    _worker.update(
        options=options,
        events=events,
        engine=make_engine(options.database_url),
        cache=pipeline.DataCache(options.data_dir, options.seed),
    )


def _run_one(name: str) -> Finished:
    from core import datasets
    from training import pipeline
    from training.recipes import get_spec

    options: RunOptions = _worker["options"]
    try:
        outcome = pipeline.run_model(
            get_spec(name),
            models_dir=options.models_dir,
            engine=_worker["engine"],
            cache=_worker["cache"],
            profile=pipeline.PROFILES[options.profile],
            seed=options.seed,
            force=options.force,
            epochs=options.epochs,
            callbacks=[_epoch_events(_worker["events"], name)],
            fit_maps=options.fit_maps,
        )
    except datasets.DatasetError as err:
        return Finished(name, dataset_error=err.message)
    return Finished(name, outcome.version, outcome.status, outcome.seconds, outcome.test_accuracy)


def _epoch_events(events: Any, name: str) -> Any:
    import keras

    class EpochEvents(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            events.put(("begin", name, self.params.get("epochs")))

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            events.put(("epoch", name, (logs or {}).get("val_accuracy")))

    return EpochEvents()
