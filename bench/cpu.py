"""Where the machine's CPU went during one measured run (Linux /proc).

The machine is small (2 cores) and may be shared, so each run records the CPU of the server
process, of the database server (PostgreSQL: the postmaster and its backends), of the load
generator, and of everything else; a busy "other" means the figures were disturbed.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """User plus system CPU seconds of one process so far (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def tree_cpu(root: int) -> float:
    """CPU seconds of a process and its live children (enough for a postmaster)."""
    total = process_cpu(root)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == root:
            total += (int(fields[11]) + int(fields[12])) / _TICKS
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
        self._server = process_cpu(server_pid)
        self._database = tree_cpu(database_pid) if database_pid else 0.0
        self._own = own_cpu()
        self._machine = machine_cpu()

    def stop(self) -> CpuUse:
        wall = max(time.monotonic() - self._wall, 1e-9)
        server = (process_cpu(self.server_pid) - self._server) / wall
        database = (tree_cpu(self.database_pid) - self._database) / wall if self.database_pid else None
        loadgen = (own_cpu() - self._own) / wall
        machine = (machine_cpu() - self._machine) / wall
        other = max(0.0, machine - server - (database or 0.0) - loadgen)
        return CpuUse(server, database, loadgen, other, machine)
