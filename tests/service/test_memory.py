"""malloc_trim after a burst of large bodies: once, after the burst; never for small ones."""

from __future__ import annotations

import asyncio

from service.memory import TRIM_AFTER_BYTES, Trimmer


def test_a_burst_costs_one_trim_after_its_end() -> None:
    async def burst() -> tuple[int, int]:
        trimmer = Trimmer(delay_s=0.05)
        assert trimmer.trim is not None, "glibc has malloc_trim"
        for _ in range(20):
            trimmer.after(TRIM_AFTER_BYTES)
            trimmer.after(100)  # small bodies neither trim nor delay one
            await asyncio.sleep(0.005)
        during = trimmer.trims
        await asyncio.sleep(0.3)
        return during, trimmer.trims

    assert asyncio.run(burst()) == (0, 1)


def test_a_started_worker_has_its_collector_tuned_and_still_collects_cycles(
    live_server: object,
) -> None:
    """After start-up (the live server has run its lifespan in this process), start-up's
    objects are frozen and the young generation is collected rarely; cycles made later
    are still collected."""
    import gc
    import weakref

    from service.app import GC_YOUNG_THRESHOLD

    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    assert gc.get_freeze_count() > 0

    class Node:
        pass

    node = Node()
    node.me = node  # type: ignore[attr-defined]  # a cycle refcounting never frees
    alive = weakref.ref(node)
    del node
    gc.collect()
    assert alive() is None
