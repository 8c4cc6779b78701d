"""The security flows' figures (issue 12): the raw argon2id rate of this machine with
Patron's parameters, and what the API makes of it.

`measure_argon2` hashes and verifies with Patron's own hasher (`patron.users.sensitive`:
argon2id, m=19 MiB, t=2, p=1) on Patron's own bounded pool (`patron.cpu.run_cpu`, one thread
per core), keeping the pool full, in this process while the server under test is idle. That
is the ceiling of any request whose cost is argon2: Create User with a security block hashes
four secrets (password, security code, two answers), Validate User Password verifies one.
bench/run.py compares each rate with it (`ceiling`), and measures Get User's latency while
Create Users with security keep the server's pools busy (`Background`).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from cpu import CpuUse, machine_cpu
from httpload import summarize
from report import Row, Target
from wrk import WrkResult, run_wrk

from patron.cpu import run_cpu
from patron.users import sensitive

# Not on the common-password list, 8-128 characters: what the users of the security rows have.
PASSWORD = "Bench-Quill-Harbor-7381"
SECURITY = {
    "password": PASSWORD,
    "security_code": "482913",
    "secret_question_1": "1",
    "secret_answer_1": "Soma Street",
    "secret_question_2": "2",
    "secret_answer_2": "Alexandria",
}
HASHES_PER_CREATE = 4  # password, security code, two answers: each an argon2id hash
TARGET_SHARE = 0.65  # issue 12: Create User and Validate Password at >= 65 % of raw argon2
# Validate User Password (seed 004 L10555-10571): info.type 10 with the password to check.
VALIDATE_BODY = json.dumps(
    {"validate_data": {"password": PASSWORD}, "info": {"type": "10"}}, separators=(",", ":")
).encode()


def security_json() -> str:
    """The security block as lua/user.lua's BENCH_SECURITY takes it."""
    return json.dumps(SECURITY, separators=(",", ":"))


def validate_path(user_id: int) -> str:
    return f"/user/security/validate/{user_id}"


def pool_threads() -> int:
    """Threads of Patron's CPU pool (patron.cpu): one per core."""
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class RawRate:
    """Operations per second on Patron's pool, and how long one took on its thread."""

    operation: str  # "hash" or "verify"
    threads: int
    done: int
    seconds: float
    op_ms: dict[str, float]
    cores: float  # CPU this process used meanwhile (1.0 = one core busy)
    machine: float  # CPU the whole machine used meanwhile

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "threads": self.threads,
            "done": self.done,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.per_second, 2),
            "op_ms": self.op_ms,
            "cores": round(self.cores, 3),
            "machine_cores": round(self.machine, 3),
            "params": {
                "type": "argon2id",
                "memory_kib": sensitive.ARGON2_MEMORY_KIB,
                "time_cost": sensitive.ARGON2_TIME_COST,
                "parallelism": sensitive.ARGON2_PARALLELISM,
            },
        }

    def row(self, engine: str) -> Row:
        """The rate as a table row (engine: the run it was measured in, beside that engine)."""
        cpu = CpuUse(self.cores, None, 0.0, max(0.0, self.machine - self.cores), self.machine)
        return Row(
            engine,
            f"argon2id {self.operation} (raw)",
            f"pool={self.threads}",
            1,
            self.per_second,
            self.op_ms["p50"],
            self.op_ms["p99"],
            0,
            raw=self.to_json(),
            cpu=cpu,
        )


def _timed(fn: Callable[[], object], spent: list[float]) -> None:
    started = time.perf_counter()
    fn()
    spent.append((time.perf_counter() - started) * 1000.0)


async def _saturate(fn: Callable[[], object], seconds: float, threads: int) -> tuple[int, float, list[float]]:
    """Keep Patron's pool full with `fn` for `seconds`: twice as many calls in flight as it
    has threads, so a thread never waits for the next one."""
    spent: list[float] = []
    deadline = time.perf_counter() + seconds

    async def feed() -> None:
        while time.perf_counter() < deadline:
            await run_cpu(_timed, fn, spent)

    started = time.perf_counter()
    await asyncio.gather(*(feed() for _ in range(2 * threads)))
    return len(spent), time.perf_counter() - started, spent


def measure_argon2(operation: str, seconds: float) -> RawRate:
    """argon2id hashes (a fresh salt each) or verifies of the bench password, on Patron's pool."""
    hasher = sensitive._hasher  # Patron's own parameters, exactly as the API hashes
    secret = sensitive.normalise_secret(PASSWORD, "password")
    if operation == "hash":
        fn: Callable[[], object] = lambda: hasher.hash(secret)  # noqa: E731
    else:
        stored = hasher.hash(secret)
        fn = lambda: hasher.verify(stored, secret)  # noqa: E731
    threads = pool_threads()
    fn()  # warm: the first call allocates
    usage = resource.getrusage(resource.RUSAGE_SELF)
    own_before = usage.ru_utime + usage.ru_stime
    machine_before, wall_before = machine_cpu(), time.monotonic()
    done, elapsed, spent = asyncio.run(_saturate(fn, seconds, threads))
    wall = max(time.monotonic() - wall_before, 1e-9)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cores = (usage.ru_utime + usage.ru_stime - own_before) / wall
    machine = (machine_cpu() - machine_before) / wall
    return RawRate(operation, threads, done, elapsed, summarize(spent), cores, machine)


def ceiling(raw: Row, per_request: int) -> Row:
    """What the raw rate allows a request that does `per_request` such operations: the figure
    a security row is compared with (its `bare`), so `ratio` is the share of raw argon2 the
    API achieved."""
    name = raw.scenario.replace(" (raw)", "")
    label = f"{name} (raw)" if per_request == 1 else f"{name} (raw / {per_request})"
    return Row(
        raw.engine,
        label,
        raw.load,
        raw.processes,
        raw.rps / per_request,
        raw.p50_ms,
        raw.p99_ms,
        0,
        raw={"from": raw.scenario, "per_request": per_request},
    )


def share_of_raw() -> Target:
    def check(row: Row) -> bool | str:
        if row.raw.get("available") is False:
            return str(row.raw.get("reason", "not available"))
        return "no raw argon2 figure" if row.ratio is None else row.ratio >= TARGET_SHARE

    return Target(f">= {TARGET_SHARE:g} x raw argon2id", check)


class Background:
    """A wrk run in a thread of this process (lua/user.lua with BENCH_SECURITY: Create Users
    that hash four secrets each), so the server's CPU pools stay full while something else
    is measured; `result()` waits for it."""

    def __init__(
        self, wrk: str, url: str, *, connections: int, threads: int, seconds: float, env: dict[str, str]
    ):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-background")
        self._future: Future[WrkResult] = self._pool.submit(
            run_wrk,
            wrk,
            url,
            "user.lua",
            connections=connections,
            threads=threads,
            duration=seconds,
            env=env,
        )

    def result(self) -> WrkResult:
        try:
            return self._future.result()
        finally:
            self._pool.shutdown(wait=True)
