"""The scaling section of `make bench` (issue 14): register and lookup on PostgreSQL served by
1, 2 and 4 API processes (`--scaling-workers`), each beside the bare app served with as many
processes, and each count's speed-up over the fewest processes.

bench/run.py measures the rows (`Bench.run_scaling`) with its own register and lookup
scenarios; this module names them, reads the per-request cost of the request metric
(bench/metrics_cost.py), prints the section and writes its summary into the run's JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from procs import BIN, BenchError
from report import Row, aligned, cpu_text, number

REGISTER = "register (scaling)"
LOOKUP = "lookup (scaling)"
SCENARIOS = (REGISTER, LOOKUP)
BARE_METHODS = ("POST", "GET")  # the bare figures REGISTER and LOOKUP are compared with
DEFAULT_WORKERS = (1, 2, 4)
METRICS_COST = Path(__file__).resolve().parent / "metrics_cost.py"

HEADER = (
    "scenario",
    "procs",
    "req/s",
    "bare req/s",
    "ratio",
    "p50 ms",
    "p99 ms",
    "errors",
    "stmts/req",
    "srv cpu",
    "speed-up",
    "bare speed-up",
)
RIGHT = set(HEADER) - {"scenario"}


def parse_workers(text: str) -> tuple[int, ...]:
    """Parse "1,2,4" to (1, 2, 4): process counts from 1 to 64, ascending, each once."""
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"whole numbers separated by commas, not {text!r}") from None
    if not counts or list(counts) != sorted(set(counts)) or not 1 <= counts[0] <= counts[-1] <= 64:
        raise ValueError(f"process counts from 1 to 64, ascending, each once, not {text!r}")
    return counts


def is_scaling(row: Row) -> bool:
    return row.scenario in SCENARIOS


def speedup(row: Row, first: Row) -> float | None:
    """The row's req/s over the first count's, for the same scenario."""
    return row.rps / first.rps if first.rps else None


def bare_speedup(row: Row, first: Row) -> float | None:
    if row.bare is None or first.bare is None or not first.bare.rps:
        return None
    return row.bare.rps / first.bare.rps


def by_scenario(rows: Sequence[Row]) -> list[tuple[Row, Row]]:
    """Each scaling row with the first (fewest processes) row of its scenario."""
    pairs = []
    for scenario in SCENARIOS:
        mine = sorted((r for r in rows if r.scenario == scenario), key=lambda r: r.processes)
        pairs += [(row, mine[0]) for row in mine]
    return pairs


def _speed(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def table(rows: Sequence[Row]) -> str:
    """The scaling rows, scenario by scenario in process order."""
    body = []
    for row, first in by_scenario(rows):
        body.append(
            [
                row.scenario.split(" (")[0],
                str(row.processes),
                number(row.rps, 0),
                "-" if row.bare is None else number(row.bare.rps, 0),
                "-" if row.ratio is None else f"{row.ratio:.3f}",
                number(row.p50_ms, 2),
                number(row.p99_ms, 2),
                f"{row.errors:,}",
                row.statements_text(),
                cpu_text(row.cpu),
                _speed(speedup(row, first)),
                _speed(bare_speedup(row, first)),
            ]
        )
    return aligned(HEADER, RIGHT, body)


def server_cpu_us(row: Row) -> float | None:
    """CPU the Patron processes spent per request (µs), PostgreSQL's not included."""
    if row.cpu is None or not row.rps:
        return None
    return row.cpu.server / row.rps * 1e6


def measure_observe() -> dict[str, Any]:
    """The request metric's cost per request, from bench/metrics_cost.py in a process of its
    own (it switches prometheus-client to multi-process mode, which this process must not)."""
    result = subprocess.run(
        [str(BIN / "python"), str(METRICS_COST), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"bench/metrics_cost.py failed ({result.returncode}):\n{result.stderr.strip()}")
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def observe_text(observe: dict[str, Any], rows: Sequence[Row]) -> str:
    """The request metric's cost, and its share of the Patron CPU a request of each scenario
    spent with the fewest processes."""
    cost = float(observe["multiprocess_us"])
    shares = [
        f"{cost / spent:.2%} of a {row.scenario.split(' (')[0]}'s {spent:,.0f} µs"
        for row, first in by_scenario(rows)
        if row is first and (spent := server_cpu_us(row))
    ]
    share = f" ({'; '.join(shares)} of Patron CPU with the fewest processes)" if shares else ""
    return (
        f"the request metric (/metrics): {cost:.2f} µs an observation in multi-process mode, "
        f"{float(observe['memory_us']):.2f} µs in one process's memory{share}"
    )


def summary(rows: Sequence[Row], observe: dict[str, Any] | None) -> dict[str, Any]:
    """The section for the run's JSON (the rows themselves are in its "rows" too)."""
    items = []
    for row, first in by_scenario(rows):
        spent = server_cpu_us(row)
        items.append(
            {
                "scenario": row.scenario.split(" (")[0],
                "processes": row.processes,
                "rps": round(row.rps, 1),
                "bare_rps": None if row.bare is None else round(row.bare.rps, 1),
                "ratio_to_bare": None if row.ratio is None else round(row.ratio, 4),
                "p50_ms": row.p50_ms,
                "p99_ms": row.p99_ms,
                "errors": row.errors,
                "statements_per_request": row.statements,
                "cpu_cores": None if row.cpu is None else row.cpu.to_json(),
                "patron_cpu_us_per_request": None if spent is None else round(spent, 1),
                "speedup": _rounded(speedup(row, first)),
                "bare_speedup": _rounded(bare_speedup(row, first)),
                "relative_to_processes": first.processes,
            }
        )
    return {"engine": "postgres", "rows": items, "metrics_observe": observe}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def print_section(rows: Sequence[Row], observe: dict[str, Any] | None) -> None:
    if not rows:
        return
    fewest = min(r.processes for r in rows)
    print(
        f"\nscaling (issue 14): PostgreSQL, PATRON_WORKERS = procs, {rows[0].load}, each count on an "
        f"org of its own; speed-up = req/s over {fewest} process(es)'s; bare = the bare app with as many"
    )
    print(table(rows))
    if observe:
        print(observe_text(observe, rows))
    sys.stdout.flush()
