"""A bounded pool for CPU-heavy work (Argon2, image decoding), off the event loop.

Such work releases the GIL inside its C code, so a few threads use the other cores while
the loop keeps serving; the bound keeps a burst of it from starving everything else.

The pool's threads run at a lower scheduling priority (nice +10, Linux: per thread): with
every core busy hashing, the scheduler would otherwise give the event loop only an equal
share beside them, and requests that hash nothing (a lookup) would wait behind the hashing
(make bench measured Get User's p99 at 200/s going from 6.5 ms to over a second while
passwords were hashed). At nice +10 the loop runs first and the hashing takes what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None
_submitted = 0  # calls given to the pool and not finished (read by `queued`, for metrics.py)


NICE = 10
THREADS = max(1, os.cpu_count() or 1)


def _lower_priority() -> None:
    """Run this pool thread behind the event loop (a thread's own nice value on Linux)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(
            max_workers=THREADS,
            thread_name_prefix="patron-cpu",
            initializer=_lower_priority,
        )
    return _pool


async def run_cpu(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    global _submitted
    loop = asyncio.get_running_loop()
    _submitted += 1
    try:
        return await loop.run_in_executor(_executor(), lambda: fn(*args, **kwargs))
    finally:
        _submitted -= 1


def queued() -> int:
    """Calls waiting for a thread of the pool (those beyond its threads)."""
    return max(0, _submitted - (THREADS if _pool is not None else 0))
