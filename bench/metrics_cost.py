"""What the request metric costs: one `Metrics.observe_request` call, the call api/edge.py
makes for every request (patron/metrics.py), timed with timeit.

Two modes: multi-process, as `patron run` serves (PROMETHEUS_MULTIPROC_DIR set, each value
kept in a memory-mapped file of the process: every increment takes a lock, checks the
process id and writes the value into the file), and in the process's memory (the variable
unset: a float behind a lock), for reference. The request's scope names a real route
template, as the router sets it, and the latencies cycle over several buckets.

    .venv/bin/python bench/metrics_cost.py          # prints both, in microseconds a call
    .venv/bin/python bench/metrics_cost.py --json   # one JSON line (bench/run.py reads it)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import timeit
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry, values

from patron import metrics

# Request latencies in seconds (a lookup's few milliseconds to a loaded registration's tens),
# so the observations land in different buckets, as they do in service.
LATENCIES = (0.0015, 0.004, 0.008, 0.02, 0.045, 0.09)


async def _register() -> None:
    """Stands for the endpoint of the route below; never called."""


def _scope() -> dict[str, Any]:
    route = APIRoute("/v2/customers", _register, methods=["POST"])
    return {"type": "http", "method": "POST", "route": route}


def per_call_us(recorder: metrics.Metrics, rounds: int, repeats: int) -> float:
    """The fastest of `repeats` timings of `rounds` passes over LATENCIES, per call, in µs."""
    scope = _scope()
    observe = recorder.observe_request

    def once() -> None:
        for seconds in LATENCIES:
            observe(scope, 201, seconds)

    once()  # the first call makes the label set's child; service makes it once per route
    best = min(timeit.repeat(once, number=rounds, repeat=repeats))
    return best / (rounds * len(LATENCIES)) * 1e6


def measure(rounds: int = 20_000, repeats: int = 5) -> dict[str, Any]:
    """Both modes' cost per observation; multi-process through `metrics.get()`, as Patron's
    processes make their metrics."""
    os.environ.pop(metrics.ENV, None)
    values.ValueClass = values.MutexValue
    memory = per_call_us(metrics.Metrics(registry=CollectorRegistry()), rounds, repeats)
    with tempfile.TemporaryDirectory(prefix="patron-metrics-") as directory:
        os.environ[metrics.ENV] = directory
        recorder = metrics.get()
        if not getattr(values.ValueClass, "_multiprocess", False):
            raise RuntimeError("metrics.get() did not switch to multi-process values")
        multiprocess = per_call_us(recorder, rounds, repeats)
        values.close_all_multiprocess_files()  # type: ignore[no-untyped-call]
    return {
        "multiprocess_us": round(multiprocess, 3),
        "memory_us": round(memory, 3),
        "calls": rounds * len(LATENCIES),
        "repeats": repeats,
        "latencies_s": list(LATENCIES),
        "prometheus_client": version("prometheus-client"),
    }


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/metrics_cost.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--rounds", type=int, default=20_000, help="passes over the latencies per timing")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("need --rounds >= 1")
    found = measure(args.rounds)
    if args.json:
        print(json.dumps(found))
    else:
        print(
            f"one request observation (prometheus-client {found['prometheus_client']}): "
            f"{found['multiprocess_us']:.2f} µs multi-process, {found['memory_us']:.2f} µs in memory "
            f"(fastest of {found['repeats']} x {found['calls']:,} calls)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
