"""Where the machine's CPU went during one measured run (Linux /proc).

The machine is small (2 cores) and may be shared, so each run records the CPU of the server
(its process and every process under it: API processes, the delivery worker), of the
database server (PostgreSQL: the postmaster and its backends), of the load generator, and
of everything else; a busy "other" means the figures were disturbed.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (None if the process is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def _cpu_seconds(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / _TICKS


def process_cpu(pid: int) -> float:
    """User plus system CPU seconds of one process so far (0 if it is gone)."""
    fields = _stat_fields(pid)
    return _cpu_seconds(fields) if fields else 0.0


def tree_cpu(root: int) -> float:
    """CPU seconds of a process and all its live descendants: a `patron run` with its API
    processes and delivery worker, a uvicorn supervisor and its workers, a postmaster and
    its backends."""
    parents: dict[int, int] = {}
    seconds: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(entry.name)) is not None:
            parents[int(entry.name)] = int(fields[1])
            seconds[int(entry.name)] = _cpu_seconds(fields)
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += seconds.get(pid, 0.0)
        stack.extend(children.get(pid, ()))
    return total


def machine_cpu() -> float:
    """CPU seconds all cores have spent busy since boot (not idle, not waiting for I/O)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / _TICKS


def own_cpu() -> float:
    """CPU seconds of this process plus its finished children (wrk, once it has exited)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass(frozen=True)
class CpuUse:
    """Cores used on average during a run (1.0 = one core busy all the time)."""

    server: float
    database: float | None
    loadgen: float
    other: float
    machine: float

    def to_json(self) -> dict[str, float | None]:
        return {
            "server": round(self.server, 3),
            "database": None if self.database is None else round(self.database, 3),
            "loadgen": round(self.loadgen, 3),
            "other": round(self.other, 3),
            "machine": round(self.machine, 3),
        }


class CpuMeter:
    """Snapshot at creation; `stop()` gives the cores each party used since."""

    def __init__(self, server_pid: int, database_pid: int | None) -> None:
        self.server_pid = server_pid
        self.database_pid = database_pid
        self._wall = time.monotonic()
        self._server = tree_cpu(server_pid)
        self._database = tree_cpu(database_pid) if database_pid else 0.0
        self._own = own_cpu()
        self._machine = machine_cpu()

    def stop(self) -> CpuUse:
        wall = max(time.monotonic() - self._wall, 1e-9)
        server = (tree_cpu(self.server_pid) - self._server) / wall
        database = (tree_cpu(self.database_pid) - self._database) / wall if self.database_pid else None
        loadgen = (own_cpu() - self._own) / wall
        machine = (machine_cpu() - self._machine) / wall
        other = max(0.0, machine - server - (database or 0.0) - loadgen)
        return CpuUse(server, database, loadgen, other, machine)
