"""Closed-loop load with wrk: a fixed number of keep-alive connections, each sending its next
request as soon as the previous answer arrives. The Lua scripts under bench/lua/ print one
"BENCH_RESULT {json}" line with the exact counts and latency percentiles."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from procs import BenchError

LUA_DIR = Path(__file__).resolve().parent / "lua"
_MARKER = "BENCH_RESULT "


def ensure_wrk() -> str:
    """Return the path of wrk, installing the Debian package first if we may."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise BenchError("wrk is not installed: apt-get install wrk (as root), then run again")
    print(
        "wrk is missing: installing the Debian package (apt-get update; apt-get install -y wrk)",
        file=sys.stderr,
    )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BenchError(f"{' '.join(argv)} failed:\n{result.stderr.strip()}")
    found = shutil.which("wrk")
    if not found:
        raise BenchError("apt-get installed wrk but it is not on PATH")
    return found


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    non2xx: int
    socket_errors: dict[str, int]
    latency_ms: dict[str, float]
    wrk_cpu_s: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def errors(self) -> int:
        return self.non2xx + sum(self.socket_errors.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "duration_s": round(self.duration_s, 3),
            "rps": round(self.rps, 1),
            "non2xx": self.non2xx,
            "socket_errors": self.socket_errors,
            "latency_ms": self.latency_ms,
            "wrk_cpu_s": round(self.wrk_cpu_s, 3),
        }


def run_wrk(
    wrk: str,
    url: str,
    script: str,
    *,
    connections: int,
    threads: int,
    duration: float,
    env: dict[str, str],
    timeout_s: int = 10,
) -> WrkResult:
    """Run wrk with bench/lua/`script` against `url`; `env` configures the script."""
    threads = max(1, min(threads, connections))
    argv = [
        wrk,
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(duration))}s",
        "--timeout",
        f"{timeout_s}s",
        "-s",
        str(LUA_DIR / script),
        url,
    ]
    script_env = dict(os.environ) | env | {"BENCH_LUA_DIR": str(LUA_DIR), "BENCH_THREADS": str(threads)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        argv, env=script_env, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith(_MARKER)), None)
    if result.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}".strip())
    data = json.loads(line[len(_MARKER) :])
    latency = {key: round(value / 1000.0, 3) for key, value in data["latency_us"].items()}
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return WrkResult(
        requests=int(data["requests"]),
        duration_s=data["duration_us"] / 1e6,
        non2xx=int(data["non2xx"]),
        socket_errors={key: int(value) for key, value in data["socket_errors"].items()},
        latency_ms=latency,
        wrk_cpu_s=cpu,
    )
