"""The CPU pool runs behind the event loop."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from patron.cpu import NICE, run_cpu


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
async def test_pool_threads_run_at_a_lower_priority_than_the_loop() -> None:
    tid = await run_cpu(threading.get_native_id)
    assert tid != threading.get_native_id()
    assert os.getpriority(os.PRIO_PROCESS, tid) == os.getpriority(os.PRIO_PROCESS, 0) + NICE
