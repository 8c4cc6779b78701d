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


NICE = 10


def _lower_priority() -> None:
    """Run this pool thread behind the event loop (a thread's own nice value on Linux)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(
            max_workers=max(1, os.cpu_count() or 1),
            thread_name_prefix="patron-cpu",
            initializer=_lower_priority,
        )
    return _pool


async def run_cpu(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), lambda: fn(*args, **kwargs))
