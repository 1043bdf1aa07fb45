"""TensorFlow process settings, applied once before the first model loads."""

from __future__ import annotations

import logging

from core.resources import intra_op_threads
from core.settings import Settings
from core.tensorflow_env import prefer_onednn

logger = logging.getLogger(__name__)


def configure_tensorflow(settings: Settings) -> None:
    prefer_onednn()
    import tensorflow as tf

    threads = intra_op_threads(settings)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    except RuntimeError:
        # TensorFlow was already initialised in this process (a second app in tests).
        logger.debug("TensorFlow threads already fixed; keeping them")
    else:
        logger.info("TensorFlow intra-op threads: %d", threads)
    limit_blas_threads()


def limit_blas_threads() -> None:
    """One BLAS thread per numpy call. The service's numpy work (neighbour search,
    attribution arithmetic) runs on the executor's threads, several at once; OpenBLAS's
    own threads on top oversubscribe the cores (a search of 50,000 rows took 50-190 ms
    instead of 4 ms under load) and add nothing to one small matrix product."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
