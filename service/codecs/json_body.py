"""Parsing a JSON request body within a memory budget and off the event loop.

A 60 MB body of ``{"instances": [[], [], ...]}`` held the event loop for about 6 s while
orjson built 20 M lists: the worker answered nothing else, and uvicorn's supervisor took
it for dead and killed it. Two things bound that now. First, the parse is priced before it
starts (``service.codecs.budget.check_json``: byte counts at C speed; 413 over
``max_decode_bytes`` or over ``MAX_JSON_CONTAINERS`` lists and objects), which bounds
both its memory and its time: orjson holds the GIL for a whole parse, so no thread frees
the loop from a long one, and the cap keeps the longest admitted parse near 0.4 s of CPU.
Second, a body larger than ``INLINE_PARSE_BYTES`` is parsed in a thread of its own small
pool (``PARSE_THREADS``), not in the pool that runs the models, so queued parses never
wait behind model calls or hold their threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from service.codecs.budget import check_json

#: Bodies up to this size are parsed inline: a thread hand-off costs more than the parse.
INLINE_PARSE_BYTES = 256 * 1024
#: Threads that parse large JSON bodies at once per worker (more wait their turn).
PARSE_THREADS = 2

#: Threads start on first use; a pool per process, whatever event loop asks (tests run
#: several servers, each on its own loop).
_PARSERS = ThreadPoolExecutor(PARSE_THREADS, thread_name_prefix="layerlens-parse")


async def parse_bounded(body: bytes, parse: Callable[[bytes], Any], *, max_bytes: int) -> Any:
    """``parse(body)`` once the budget allows it; in a parse thread when the body is large."""
    check_json(body, max_bytes=max_bytes)
    if len(body) <= INLINE_PARSE_BYTES:
        return parse(body)
    return await asyncio.get_running_loop().run_in_executor(_PARSERS, parse, body)
