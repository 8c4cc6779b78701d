"""`make bench`: Patron's throughput and latency on SQLite and PostgreSQL, each figure beside
a bare FastAPI app served with as many processes and measured in the same run. A benchmark
that prints figures, never a test.

See bench/README.md for the scenarios and flags. Every server this starts is stopped and
every temporary file removed when it ends, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple

from cpu import CpuMeter, CpuUse, tree_cpu
from httpload import (
    OpenLoopResult,
    build_get,
    build_request,
    exchange_all,
    open_loop,
    run_async,
    send_all,
    sequential,
    summarize,
)
from loyalty_load import Loaded, LoadError
from loyalty_load import load as load_loyalty
from procs import (
    PATRON,
    REPO,
    BenchError,
    Credentials,
    Processes,
    Server,
    remove_tree,
)
from report import Row, Target, table, write_json
from scaling import BARE_METHODS as SCALING_METHODS
from scaling import DEFAULT_WORKERS as SCALING_WORKERS
from scaling import LOOKUP as SCALING_LOOKUP
from scaling import REGISTER as SCALING_REGISTER
from scaling import is_scaling, measure_observe, parse_workers, print_section
from scaling import summary as scaling_summary
from security import (
    HASHES_PER_CREATE,
    VALIDATE_BODY,
    Background,
    ceiling,
    measure_argon2,
    pool_threads,
    security_json,
    share_of_raw,
    validate_path,
)
from wrk import WrkResult, ensure_wrk, run_wrk

from patron.config import Settings as PatronSettings
from patron.users import sensitive

RESULTS = REPO / "bench" / "results"
LOYALTY_CONFIG = REPO / "bench" / "loyalty_config.json"  # the loyalty scenarios' org
ENGINES = ("sqlite", "postgres")
NAME_PREFIXES = ("tom", "pri", "ra", "sha", "saw", "meer", "vikram", "zh")
METHODS = ("GET", "POST", "PUT")

OTHER_CPU_WARNING = 0.25  # cores used by unrelated processes during a run before a note says so
PROBES = 3  # requests per scenario that read x-patron-statements before the load
# Customers the lookup, details and update scenarios cycle over: more than the 4,096 recent
# mobile normalisations a Patron process keeps (src/patron/customers/domain.py), so cycling
# through them never hits that cache, as a till serving a real customer base rarely would.
LOOKUP_KEYS = 5_000
SEARCH_PAGE = 100  # the search API's largest page
# Coupons (bench/loyalty_config.json's couponSeries): issues go to up to COUPON_BODIES
# customers in turn; redemptions cycle over COUPON_POOL coupons of the reusable series.
COUPON_SERIES = 11
REUSABLE_SERIES = 13
COUPON_BODIES = 20_000
COUPON_POOL = 1_000
# The user namespace (seed 004, issue 11): Get User cycles over USER_KEYS users made first.
USER_KEYS = 5_000
# Rows printed per core used after the table.
LOYALTY_ROWS = ("loyalty read", "purchase", "coupon")
USER_ROWS = ("create user", "get user")
# The security flows (issue 12): Validate User Password cycles over SECURE_USERS users made
# with a password; the Get User latency rows over those and LOOKUP_USERS more, without.
SECURE_USERS = 64
LOOKUP_USERS = 1_000
SECURITY_ROWS = ("create user (security)", "validate password", "get user open")

# Targets (issue 7, section 3): stated for the default load shapes below.
TARGET_CONNECTIONS = 32
TARGET_RATE = 1000.0
TARGET_SEARCH_CUSTOMERS = 100_000
# Loyalty (issue 9, "Speed"): stated for 100,000 customers and 10 million ledger entries.
TARGET_LOYALTY_CUSTOMERS = 100_000
TARGET_LEDGER_ENTRIES = 10_000_000


def share_of_bare(share: float, method: str) -> Target:
    def check(row: Row) -> bool | str:
        return "no bare figure" if row.ratio is None else row.ratio >= share

    return Target(f">= {share:g} x bare {method}", check)


TARGETS = {
    "register": share_of_bare(0.14, "POST"),
    "lookup": share_of_bare(0.33, "GET"),
    "lookup open": Target("p99 < 15 ms", lambda r: r.p99_ms < 15),
    "details": share_of_bare(0.2, "GET"),
    "update": share_of_bare(0.12, "PUT"),
    "purchase": share_of_bare(0.1, "POST"),
    "loyalty read": share_of_bare(0.25, "GET"),
}


def search_target(customers: int) -> Target:
    def check(row: Row) -> bool | str:
        if customers < TARGET_SEARCH_CUSTOMERS:
            return f"only {customers:,} customers"
        return row.p50_ms < 20

    return Target(f"p50 < 20 ms on {TARGET_SEARCH_CUSTOMERS:,}", check)


def loyalty_target(scenario: str, customers: int, entries: int) -> Target:
    """A loyalty target, judged only on the data it is stated for."""
    stated = TARGETS[scenario]

    def check(row: Row) -> bool | str:
        if customers < TARGET_LOYALTY_CUSTOMERS or entries < TARGET_LEDGER_ENTRIES:
            return f"{customers:,} customers, {millions(entries)} entries"
        return stated.check(row)

    return Target(stated.text, check)


def millions(entries: int) -> str:
    """1000000 -> "1M", 2500000 -> "2.5M", 20000 -> "20,000"."""
    return f"{entries / 1e6:g}M" if entries >= 1_000_000 else f"{entries:,}"


def method_of(scenario: str) -> str:
    """The HTTP method a scenario sends, which picks the bare figure it is compared with."""
    return {
        "register": "POST",
        "update": "PUT",
        "purchase": "POST",
        "coupon issue": "POST",
        "coupon redeem": "POST",
        "create user": "POST",
    }.get(scenario, "GET")


# Settings and the log ---------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    duration: float
    warmup: float
    connections: int
    threads: int
    rate: float
    open_connections: int
    engines: tuple[str, ...]
    workers: int | None
    search_customers: int
    search_snapshot: Path | None
    loyalty_customers: int
    ledger_entries: tuple[int, ...]  # reads measured at each, purchases at the last; () skips
    loyalty_only: bool
    users_only: bool
    security_only: bool
    security_rate: float  # open-loop Get User rate of the security rows, requests/s
    scaling_workers: tuple[int, ...]  # API process counts of the scaling section; () skips it
    scaling_only: bool
    output: Path
    keep_temp: bool


def parse_args(argv: Sequence[str]) -> Settings:
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description="Patron throughput and latency (SQLite, PostgreSQL, bare FastAPI)."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 s runs, 1 s warm-ups and 10,000 search customers (unless given)",
    )
    parser.add_argument("--duration", type=float, help="seconds per measured run (default 10; --quick 3)")
    parser.add_argument(
        "--warmup", type=float, help="seconds of warm-up before each run (default 2; --quick 1)"
    )
    parser.add_argument("--connections", type=int, default=32, help="closed-loop connections (default 32)")
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads (default 1: the machine is small)"
    )
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="open-loop offered rate, requests/s (default 1000)"
    )
    parser.add_argument(
        "--open-connections",
        type=int,
        default=64,
        help="most connections the open-loop generator uses (default 64)",
    )
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help="comma-separated engines (default sqlite,postgres)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="API processes for Patron (PATRON_WORKERS) and the bare app alike "
        "(default: Patron's own, 1 on SQLite and one per core on PostgreSQL)",
    )
    parser.add_argument(
        "--search-customers",
        type=int,
        help="customers loaded for the search scenario (default 100000; --quick 10000; 0 skips it)",
    )
    parser.add_argument(
        "--search-snapshot",
        type=Path,
        help="reuse this SQLite file of loaded search customers if it has the requested count, "
        "else load and save it there (valid only while the code that writes search "
        "terms is unchanged)",
    )
    parser.add_argument(
        "--loyalty-customers",
        type=int,
        help="customers loaded for the loyalty scenarios (default 100000; --quick 20000)",
    )
    parser.add_argument(
        "--ledger-entries",
        help="ledger entries the loyalty data grows to, comma-separated and ascending: loyalty reads are "
        "measured at each, purchases at the last (default 1000000,10000000; --quick 1000000,2000000)",
    )
    parser.add_argument("--no-loyalty", action="store_true", help="skip the loyalty scenarios")
    parser.add_argument(
        "--loyalty-only",
        action="store_true",
        help="only the loyalty scenarios (and the bare app): no register, lookup, details, update, search",
    )
    parser.add_argument(
        "--users-only",
        action="store_true",
        help="only the user namespace's rows (create user, get user) on each engine, and the bare app",
    )
    parser.add_argument(
        "--security-only",
        action="store_true",
        help="only the security rows on each engine (raw argon2id, create user with security, validate "
        "password, get user latency with and without password work); no bare app",
    )
    parser.add_argument(
        "--security-rate",
        type=float,
        default=200.0,
        help="open-loop Get User rate of the security rows, requests/s (default 200)",
    )
    parser.add_argument(
        "--scaling-workers",
        default=",".join(map(str, SCALING_WORKERS)),
        help="API process counts of the scaling section on PostgreSQL, ascending (default 1,2,4)",
    )
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling section")
    parser.add_argument(
        "--scaling-only",
        action="store_true",
        help="only the scaling section: register and lookup on PostgreSQL with each --scaling-workers "
        "count of API processes, and the bare app with as many",
    )
    parser.add_argument(
        "--output", type=Path, help="JSON results file (default bench/results/bench-<time>.json)"
    )
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary directory (server logs)")
    args = parser.parse_args(argv)
    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engine(s): {', '.join(unknown)}; choose among {', '.join(ENGINES)}")
    duration = args.duration if args.duration is not None else (3.0 if args.quick else 10.0)
    warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    search = args.search_customers
    if search is None:
        search = 10_000 if args.quick else 100_000
    if duration < 1 or warmup < 0 or args.connections < 1 or args.threads < 1 or args.rate <= 0:
        parser.error("need --duration >= 1, --warmup >= 0, --connections >= 1, --threads >= 1, --rate > 0")
    if args.open_connections < 1 or not 0 <= search <= 1_000_000:
        parser.error("need --open-connections >= 1 and --search-customers from 0 to 1,000,000")
    if args.workers is not None and not 1 <= args.workers <= 64:
        parser.error("need --workers from 1 to 64")
    loyalty_customers = args.loyalty_customers
    if loyalty_customers is None:
        loyalty_customers = 20_000 if args.quick else 100_000
    steps_text = args.ledger_entries or ("1000000,2000000" if args.quick else "1000000,10000000")
    try:
        steps = tuple(int(step.replace("_", "")) for step in steps_text.split(",") if step.strip())
    except ValueError:
        parser.error(f"--ledger-entries: whole numbers separated by commas, not {steps_text!r}")
    if args.no_loyalty and args.loyalty_only:
        parser.error("--no-loyalty and --loyalty-only exclude each other")
    if sum((args.users_only, args.loyalty_only, args.security_only, args.scaling_only)) > 1:
        parser.error("--users-only, --loyalty-only, --security-only and --scaling-only exclude each other")
    try:
        scaling = parse_workers(args.scaling_workers)
    except ValueError as exc:
        parser.error(f"--scaling-workers: {exc}")
    skip_scaling = args.no_scaling or "postgres" not in engines
    if args.scaling_only and skip_scaling:
        parser.error("--scaling-only measures PostgreSQL: not with --no-scaling; --engines must name it")
    if skip_scaling or args.users_only or args.loyalty_only or args.security_only:
        scaling = ()
    if args.security_rate <= 0:
        parser.error("need --security-rate > 0")
    if args.no_loyalty or args.users_only or args.security_only or args.scaling_only:
        steps = ()
    elif not 1 <= loyalty_customers <= 10_000_000 or not steps:
        parser.error("need --loyalty-customers from 1 to 10,000,000 and at least one --ledger-entries")
    elif list(steps) != sorted(set(steps)) or steps[0] < loyalty_customers:
        parser.error(
            "--ledger-entries must ascend, each at least --loyalty-customers (a registration entry each)"
        )
    if args.loyalty_only or args.users_only or args.security_only or args.scaling_only:
        search = 0
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Settings(
        duration=duration,
        warmup=warmup,
        connections=args.connections,
        threads=args.threads,
        rate=args.rate,
        open_connections=args.open_connections,
        engines=engines,
        workers=args.workers,
        search_customers=search,
        search_snapshot=args.search_snapshot,
        loyalty_customers=loyalty_customers,
        ledger_entries=steps,
        loyalty_only=args.loyalty_only,
        users_only=args.users_only,
        security_only=args.security_only,
        security_rate=args.security_rate,
        scaling_workers=scaling,
        scaling_only=args.scaling_only,
        output=args.output or RESULTS / f"bench-{stamp}.json",
        keep_temp=args.keep_temp,
    )


def api_processes(engine: str, workers: int | None) -> int:
    """The processes `patron run` serves the API with on `engine`: --workers, else Patron's own
    rule (PATRON_WORKERS if set, else 1 on SQLite and one per core on PostgreSQL)."""
    if workers is not None:
        return workers
    url = "sqlite+aiosqlite:///patron.db" if engine == "sqlite" else "postgresql+asyncpg://localhost/patron"
    return PatronSettings(database_url=url).api_processes


_STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


# Requests -----------------------------------------------------------------------------------


class Call(NamedTuple):
    """One request: method, path and JSON body."""

    method: str
    path: str
    body: bytes | None = None


def register_body(mobile: str) -> bytes:
    """The registration lua/register.lua sends (Tom Sawyer, INSTORE, loyalty, one mobile)."""
    profile = {
        "firstName": "Tom",
        "lastName": "Sawyer",
        "source": "INSTORE",
        "identifiers": [{"type": "mobile", "value": mobile}],
    }
    return json.dumps({"loyaltyInfo": {"loyaltyType": "loyalty"}, "profiles": [profile]}).encode()


def update_body(first_name: str) -> bytes:
    """The update lua/update.lua sends: a new first name."""
    return json.dumps({"profiles": [{"firstName": first_name, "lastName": "Sawyer"}]}).encode()


def spare_mobile(run: int, serial: int) -> str:
    """A mobile outside lua/register.lua's runs 0 and 1 ("9198", the run, 7 digits): run 2
    tops the stored customers up, run 9 is for the register probes."""
    return f"9198{run}{serial:07d}"


def lookup_path(mobile: str) -> str:
    return "/v2/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue=" + mobile


def details_path(customer_id: int) -> str:
    return f"/v2/customers/{customer_id}?source=ALL"


def loyalty_details_path(customer_id: int) -> str:
    return f"/v2/customers/{customer_id}/loyaltyDetails"


def purchase_body(bill_number: str, cents: int, customer_id: int) -> bytes:
    """A purchase as lua/purchase.lua sends it."""
    return (
        f'{{"type":"REGULAR","billNumber":"{bill_number}","billAmount":{cents // 100}.{cents % 100:02d},'
        f'"customer":{{"id":{customer_id}}}}}'
    ).encode()


def coupon_issue_body(series_id: int, customer_id: int) -> bytes:
    return json.dumps({"seriesId": series_id, "customer": {"id": customer_id}}).encode()


def coupon_redeem_body(code: str, customer_id: int) -> bytes:
    return json.dumps({"code": code, "customer": {"id": customer_id}, "billNumber": "BENCH"}).encode()


def user_body(run: int, serial: int, *, security: bool = False) -> bytes:
    """The Create User body lua/user.lua sends as request `serial` of run `run` (0 to 7): the
    seed's personal info, a fresh email and phone, its preferences and a currency, and with
    `security` the security block (lua/user.lua's BENCH_SECURITY). Runs 0 and 1 are the
    warm-up and the measured run, 5 the Get User users, 7 the probes; the security rows use
    2 and 3 (warm-up, measured), 4 (their users; probes from serial 900000) and 6 (the load
    beside the latency run)."""
    body: dict[str, Any] = {
        "personal_info": {"title": "1", "first_name": "Marcos", "last_name": "Collier", "gender": "1"},
        "email": [
            {
                "address": f"marcos.collier.{run}{serial:06d}@example.com",
                "verification_status": "1",
                "is_primary": "1",
            }
        ],
        "phone": [
            {
                "type": "1",
                "country_code": "840",
                "number": f"+1306{run + 2}{serial:06d}",
                "verification_status": "0",
                "is_primary": 1,
            }
        ],
        "preferences": {
            "preferred_language_code": "en",
            "enable_facebook_account": "1",
            "enable_promotion_notification": "1",
            "enable_email_notification": "1",
            "enable_sms_notification": "1",
            "enable_push_notification": "1",
            "time_zone": "UTC +10:00",
            "enable_device_authentication": "0",
        },
        "currency": [{"code": "USD"}],
    }
    if security:
        body["security"] = json.loads(security_json())
    return json.dumps(body, separators=(",", ":")).encode()


def user_path(user_id: int) -> str:
    return f"/user/{user_id}"


def update_path(customer_id: int) -> str:
    return f"/v2/customers/{customer_id}?source=INSTORE"


def search_path(q: str, limit: int = 10, offset: int = 0) -> str:
    query = {"q": q, "limit": limit} | ({"offset": offset} if offset else {})
    return "/v2/customers/search?" + urllib.parse.urlencode(query)


@dataclass
class Probe:
    """The statement counts the probe requests reported, and what went wrong."""

    statements: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def probe(server: Server, calls: Sequence[Call], auth: str) -> Probe:
    """Send each call once and read `x-patron-statements` from its answer."""
    result = Probe()
    for call in calls:
        headers = {"Authorization": auth} | ({"Content-Type": "application/json"} if call.body else {})
        request = urllib.request.Request(
            server.base_url + call.path, data=call.body, method=call.method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                header = response.headers.get("x-patron-statements")
        except urllib.error.HTTPError as exc:
            result.failures.append(f"probe {call.method} {call.path} answered {exc.code}")
            continue
        if header is None:
            result.failures.append(f"probe {call.method} {call.path}: no x-patron-statements header")
        else:
            result.statements.append(int(header))
    return result


# One run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """A server under measurement: the engine behind it and how many processes serve it."""

    server: Server
    engine: str  # "bare", "sqlite" or "postgres"
    processes: int


@dataclass
class Bench:
    settings: Settings
    procs: Processes
    workdir: Path
    wrk: str
    processes: dict[str, int]  # API processes per engine
    rows: list[Row] = field(default_factory=list)
    bare: dict[tuple[int, str, str], Row] = field(default_factory=dict)  # (processes, method, load)
    extra: dict[str, Any] = field(default_factory=dict)
    database_pid: int | None = None  # PostgreSQL's postmaster while an engine runs on it

    # Measurements ---------------------------------------------------------------------

    def closed(
        self,
        at: Served,
        scenario: str,
        script: str,
        env: dict[str, str],
        *,
        connections: int | None = None,
        warm_env: dict[str, str] | None = None,
        probes: Sequence[Call] = (),
        auth: str = "",
    ) -> Row:
        """Probe, warm up, then measure with wrk at a fixed number of connections."""
        s = self.settings
        conns = connections or s.connections
        checked = probe(at.server, probes, auth) if probes else None

        def go(duration: float, script_env: dict[str, str]) -> WrkResult:
            return run_wrk(
                self.wrk,
                at.server.base_url,
                script,
                connections=conns,
                threads=s.threads,
                duration=duration,
                env=script_env,
            )

        if s.warmup > 0:
            go(s.warmup, warm_env or env)
        settle(at.server, self.database_pid)
        meter = CpuMeter(at.server.pid, self.database_pid)
        result = go(s.duration, env)
        row = Row(
            at.engine,
            scenario,
            f"c={conns}",
            at.processes,
            result.rps,
            result.latency_ms["p50"],
            result.latency_ms["p99"],
            result.errors,
            raw=result.to_json(),
        )
        return self._add(row, meter.stop(), checked)

    def opened(
        self,
        at: Served,
        scenario: str,
        calls: Sequence[Call],
        *,
        auth: str | None = None,
        probes: Sequence[Call] = (),
        rate: float | None = None,
    ) -> Row:
        """Probe, warm up, then offer a fixed rate (open loop) and measure from the schedule."""
        s = self.settings
        rate = rate or s.rate
        port = at.server.port
        requests = [build_request(c.method, "127.0.0.1", port, c.path, auth, c.body) for c in calls]
        checked = probe(at.server, probes, auth or "") if probes else None

        def go(duration: float) -> OpenLoopResult:
            return run_async(
                open_loop(
                    "127.0.0.1",
                    port,
                    requests,
                    rate=rate,
                    duration=duration,
                    connections=s.open_connections,
                    drain_timeout=drain_seconds(duration),
                )
            )

        if s.warmup > 0:
            go(s.warmup)
        settle(at.server, self.database_pid)
        meter = CpuMeter(at.server.pid, self.database_pid)
        result = go(s.duration)
        cpu = meter.stop()
        row = Row(
            at.engine,
            scenario,
            f"{rate:g}/s",
            at.processes,
            result.achieved_rate,
            result.latency_ms["p50"],
            result.latency_ms["p99"],
            result.errors,
            raw=result.to_json(),
        )
        if result.unfinished:
            row.notes.append(
                f"{result.unfinished} requests had no answer {drain_seconds(s.duration):g} s after the run"
            )
        if result.max_send_lag_ms > 5:
            row.notes.append(f"the generator fell up to {result.max_send_lag_ms:.1f} ms behind its schedule")
        return self._add(row, cpu, checked)

    def _add(self, row: Row, cpu: CpuUse, checked: Probe | None) -> Row:
        row.cpu = cpu
        if cpu.other > OTHER_CPU_WARNING:
            row.notes.append(f"other processes used {cpu.other:.2f} cores during the run: figures disturbed")
        if checked is not None:
            row.statements = checked.statements
            row.notes.extend(checked.failures)
        if row.engine != "bare" and poorly_spread(row):
            row.notes.append(
                f"its {row.processes} processes used {cpu.server:.2f} cores while {CORES - cpu.machine:.2f} "
                "were idle: the connections were not spread over them, so the figure is low"
            )
        if row.engine != "bare":
            base = row.scenario.split(" (")[0]
            row.bare = self.bare.get((row.processes, method_of(base), row.load))
            row.target = self._target(base, row.load)
        self.rows.append(row)
        bare = f"; bare {row.bare.rps:,.0f}/s" if row.bare else ""
        stmts = f", {row.statements_text()} stmts/req" if row.statements else ""
        log(
            f"{row.engine} {row.scenario} {row.load} x{row.processes}: {row.rps:,.0f} req/s, "
            f"p50 {row.p50_ms:.2f} ms, p99 {row.p99_ms:.2f} ms, {row.errors} errors{stmts}{bare}"
        )
        return row

    def _spread_bare(self, measure: Callable[[], Row]) -> Row:
        """A bare closed-loop figure, measured again (up to twice) when the connections landed
        on too few of its processes (uvicorn's processes share one listening socket, and
        which one accepts each of wrk's connections is luck): the bare figure is the ceiling
        of that many processes, so the best run counts."""
        runs = [measure()]
        while len(runs) < 3 and poorly_spread(runs[-1]):
            last = runs[-1]
            used = last.cpu.server if last.cpu else 0.0
            log(
                f"bare {last.scenario} {last.load}: its processes used {used:.2f} cores with cores idle "
                "(the connections were not spread over them): measuring again"
            )
            runs.append(measure())
        best = max(runs, key=lambda r: r.rps)
        dropped = {id(r) for r in runs if r is not best}
        self.rows = [r for r in self.rows if id(r) not in dropped]
        if len(runs) > 1:
            each = ", ".join(f"{r.rps:,.0f} req/s on {r.cpu.server:.2f} cores" for r in runs if r.cpu)
            best.notes.append(f"measured {len(runs)} times, the best counts ({each})")
        return best

    def _target(self, scenario: str, load: str) -> Target | None:
        """The target of a scenario, for the load shape it is stated for."""
        if load == f"{TARGET_RATE:g}/s":
            return TARGETS.get(scenario) if scenario.endswith(" open") else None
        if load != f"c={TARGET_CONNECTIONS}":
            return None
        if scenario == "search":
            return search_target(self.settings.search_customers)
        return TARGETS.get(scenario)

    # Scenarios ------------------------------------------------------------------------

    def run_bare(self) -> None:
        """The bare app at every process count an engine (or search) is served with, for each
        method and load shape; at the scaling section's other counts, the methods and the one
        closed-loop load that section compares with."""
        s = self.settings
        counts = set() if s.scaling_only else {self.processes[engine] for engine in s.engines}
        loads = {s.connections}
        if s.search_customers:
            counts.add(self.processes["sqlite"])
            loads.add(1)
        for processes in sorted(counts | set(s.scaling_workers)):
            full = processes in counts
            log(f"bare FastAPI app (uvicorn, uvloop, httptools, {processes} process(es))")
            at = Served(self.procs.start_bare(processes), "bare", processes)
            ping = self._paths_file("bare", ["/ping"])
            scripts = {
                "GET": ("paths.lua", {"BENCH_PATHS_FILE": str(ping)}),
                "POST": ("register.lua", {"BENCH_PATH": "/ping"}),
                "PUT": ("update.lua", {"BENCH_PATHS_FILE": str(ping)}),
            }
            bodies = {"GET": None, "POST": register_body("919800000000"), "PUT": update_body("Tom")}
            for method in METHODS if full else SCALING_METHODS:
                script, env = scripts[method]
                for conns in sorted(loads if full else {s.connections}, reverse=True):
                    measure = functools.partial(
                        self.closed,
                        at,
                        f"{method} /ping",
                        script,
                        env | {"BENCH_RUN": "1"},
                        connections=conns,
                        warm_env=env | {"BENCH_RUN": "0"},
                    )
                    row = self._spread_bare(measure)
                    self.bare[(processes, method, row.load)] = row
                if full:
                    row = self.opened(at, f"{method} /ping", [Call(method, "/ping", bodies[method])])
                    self.bare[(processes, method, row.load)] = row
            self.procs.stop_server(at.server)

    def run_engine(self, engine: str) -> None:
        if engine == "sqlite":
            folder = self.workdir / "sqlite"
            folder.mkdir()
            url = f"sqlite+aiosqlite:///{folder / 'patron.db'}"
            stop_db: Callable[[], None] = lambda: None  # noqa: E731  (the temp dir goes at the end)
        else:
            url, root, stop_db = self.procs.start_postgres(durable=True)
            self.database_pid = postmaster_pid(root)
            log(f"started a durable throwaway PostgreSQL server (tests/pg.py) in {root}")
        try:
            if not self.settings.scaling_only:
                self._engine_rows(engine, url)
            if engine == "postgres" and self.settings.scaling_workers:
                self.run_scaling(url)
        finally:
            stop_db()
            self.database_pid = None

    def _engine_rows(self, engine: str, url: str) -> None:
        """The rows of one engine with Patron's own process count (or --workers)."""
        processes = self.processes[engine]
        log(f"{engine}: creating an org; starting `patron run` ({processes} API process(es))")
        creds = self.procs.create_org(url, f"bench-{engine}")
        server = self.procs.start_patron(f"patron-{engine}", url, self.settings.workers)
        at = Served(server, engine, processes)
        auth = creds.basic_auth()
        try:
            if self.settings.users_only:
                self._users(at, auth, url)
                return
            if self.settings.security_only:
                self._security(at, auth, url)
                return
            self._register(at, auth)
            keys = customer_keys(server, auth, LOOKUP_KEYS)
            self.extra.setdefault("customers_cycled", {})[engine] = len(keys)
            if engine == "postgres":
                self.procs.analyze_postgres(url)
            log(f"{engine}: lookup, details and update cycle over {len(keys):,} customers")
            self._reads(at, auth, keys)
            self._update(at, auth, [customer_id for customer_id, _ in keys])
            self._users(at, auth, url)
            self._security(at, auth, url)
        finally:
            self.procs.stop_server(server)

    def run_scaling(self, url: str) -> None:
        """Issue 14: register, then lookup over the customers it stored, with each
        --scaling-workers count of API processes (PATRON_WORKERS) on this PostgreSQL server.
        Each count has an org of its own, so each starts from the same empty org and
        lua/register.lua's mobiles stay new (an identifier is unique within an org)."""
        if self.settings.scaling_only:
            self._prime_scaling(url)
        rows = []
        for processes in self.settings.scaling_workers:
            creds = self.procs.create_org(url, f"bench-scaling-x{processes}")
            self.procs.analyze_postgres(url)  # every count starts with the statistics of the data so far
            log(f"scaling: `patron run` with PATRON_WORKERS={processes} on PostgreSQL")
            server = self.procs.start_patron(f"patron-scaling-x{processes}", url, processes)
            at = Served(server, "postgres", processes)
            auth = creds.basic_auth()
            try:
                rows.append(self._register(at, auth, SCALING_REGISTER))
                keys = customer_keys(server, auth, LOOKUP_KEYS)
                self.procs.analyze_postgres(url)
                lookups = [lookup_path(mobile) for _, mobile in keys]
                rows.append(self._lookup(at, auth, lookups, SCALING_LOOKUP))
            finally:
                self.procs.stop_server(server)
        for row in rows:
            row.target = None  # issue 7's targets are judged on the engine's own rows
        observe = measure_observe()
        log(f"the request metric: {observe['multiprocess_us']:.2f} µs an observation (multi-process mode)")
        self.extra["scaling"] = scaling_summary(rows, observe)

    def _prime_scaling(self, url: str) -> None:
        """With --scaling-only the server is new: register LOOKUP_KEYS customers in an org of
        their own, untimed, and ANALYZE, so the first count does not meet empty tables without
        statistics (autovacuum's first passes, plans made for no rows) while the others meet
        the data before them; a full run has done the engine's rows there first."""
        creds = self.procs.create_org(url, "bench-scaling-prime")
        server = self.procs.start_patron("patron-scaling-prime", url, self.settings.workers)
        try:
            log(f"scaling: priming the new database with {LOOKUP_KEYS:,} customers, untimed")
            customer_keys(server, creds.basic_auth(), LOOKUP_KEYS)
        finally:
            self.procs.stop_server(server)

    def _register(self, at: Served, auth: str, scenario: str = "register") -> Row:
        probes = [Call("POST", "/v2/customers", register_body(spare_mobile(9, n))) for n in range(PROBES)]
        return self.closed(
            at,
            scenario,
            "register.lua",
            {"BENCH_AUTH": auth, "BENCH_RUN": "1"},
            warm_env={"BENCH_AUTH": auth, "BENCH_RUN": "0"},
            probes=probes,
            auth=auth,
        )

    def _reads(self, at: Served, auth: str, keys: Sequence[tuple[int, str]]) -> None:
        lookups = [lookup_path(mobile) for _, mobile in keys]
        details = [details_path(customer_id) for customer_id, _ in keys]
        self._lookup(at, auth, lookups)
        probes = [Call("GET", path) for path in lookups[:PROBES]]
        self.opened(at, "lookup open", [Call("GET", path) for path in lookups], auth=auth, probes=probes)
        env = {"BENCH_AUTH": auth, "BENCH_PATHS_FILE": str(self._paths_file(f"details-{at.engine}", details))}
        probes = [Call("GET", path) for path in details[:PROBES]]
        self.closed(at, "details", "paths.lua", env, probes=probes, auth=auth)

    def _lookup(self, at: Served, auth: str, lookups: Sequence[str], scenario: str = "lookup") -> Row:
        name = f"lookup-{at.engine}-x{at.processes}"
        env = {"BENCH_AUTH": auth, "BENCH_PATHS_FILE": str(self._paths_file(name, lookups))}
        probes = [Call("GET", path) for path in lookups[:PROBES]]
        return self.closed(at, scenario, "paths.lua", env, probes=probes, auth=auth)

    def _update(self, at: Served, auth: str, customer_ids: Sequence[int]) -> None:
        paths = [update_path(customer_id) for customer_id in customer_ids]
        env = {"BENCH_AUTH": auth, "BENCH_PATHS_FILE": str(self._paths_file(f"update-{at.engine}", paths))}
        probes = [Call("PUT", path, update_body(f"Probe{n}")) for n, path in enumerate(paths[:PROBES])]
        self.closed(
            at,
            "update",
            "update.lua",
            env | {"BENCH_RUN": "1"},
            warm_env=env | {"BENCH_RUN": "0"},
            probes=probes,
            auth=auth,
        )

    def _users(self, at: Served, auth: str, url: str) -> None:
        """The user namespace (seed 004): POST /user (Create User, a fresh email and phone on
        every request, lua/user.lua), then GET /user/{id} (Get User) cycling over USER_KEYS
        users made first through Create User, untimed."""
        probes = [Call("POST", "/user", user_body(7, n)) for n in range(PROBES)]
        self.closed(
            at,
            "create user",
            "user.lua",
            {"BENCH_AUTH": auth, "BENCH_RUN": "1"},
            warm_env={"BENCH_AUTH": auth, "BENCH_RUN": "0"},
            probes=probes,
            auth=auth,
        )
        port = at.server.port
        requests = [
            build_request("POST", "127.0.0.1", port, "/user", auth, user_body(5, n)) for n in range(USER_KEYS)
        ]
        answers = run_async(exchange_all("127.0.0.1", port, requests, 32))
        ids = [json.loads(body)["info"]["id"] for status, body in answers if status == 200]
        if len(ids) < USER_KEYS:
            log(f"{USER_KEYS - len(ids):,} of the {USER_KEYS:,} Create Users for Get User failed")
        if not ids:
            raise BenchError("no user was created, so there is nothing to get")
        if at.engine == "postgres":
            self.procs.analyze_postgres(url)
        log(f"{at.engine}: get user cycles over {len(ids):,} users")
        paths = [user_path(int(user_id)) for user_id in ids]
        env = {"BENCH_AUTH": auth, "BENCH_PATHS_FILE": str(self._paths_file(f"user-{at.engine}", paths))}
        probes = [Call("GET", path) for path in paths[:PROBES]]
        self.closed(at, "get user", "paths.lua", env, probes=probes, auth=auth)

    def _security(self, at: Served, auth: str, url: str) -> None:
        """The security flows (issue 12). The raw argon2id rate of Patron's hasher on a pool
        of Patron's size, measured here while the server idles; Create User with a security
        block (four argon2id hashes a request) and Validate User Password (one verify) at 32
        connections, each beside that rate; then Get User's latency at --security-rate
        (open loop), alone and while Create Users with security fill the server's pools."""
        s = self.settings
        settle(at.server, self.database_pid)
        raws = {}
        for operation in ("hash", "verify"):
            rate = measure_argon2(operation, s.duration)
            raws[operation] = row = rate.row(at.engine)
            if row.cpu is not None and row.cpu.other > OTHER_CPU_WARNING:
                row.notes.append(
                    f"other processes used {row.cpu.other:.2f} cores during the run: figures disturbed"
                )
            self.rows.append(row)
            log(
                f"{at.engine} raw argon2id {operation}: {rate.per_second:,.1f}/s on {rate.threads} threads "
                f"(one {operation} {rate.op_ms['p50']:.1f} ms p50, {rate.cores:.2f} cores)"
            )
        secure, plain = self._security_users(at, auth, url)
        record: dict[str, Any] = {"raw": {op: r.raw for op, r in raws.items()}, "users": len(secure)}
        self.extra.setdefault("security", {})[at.engine] = record

        env = {"BENCH_AUTH": auth, "BENCH_SECURITY": security_json()}
        probes = [Call("POST", "/user", user_body(4, 900_000 + n, security=True)) for n in range(PROBES)]
        create = self.closed(
            at,
            "create user (security)",
            "user.lua",
            env | {"BENCH_RUN": "3"},
            warm_env=env | {"BENCH_RUN": "2"},
            probes=probes,
            auth=auth,
        )
        self._against_raw(create, ceiling(raws["hash"], HASHES_PER_CREATE))
        self._validate(at, auth, secure, ceiling(raws["verify"], 1))

        ids = plain + secure
        calls = [Call("GET", user_path(user_id)) for user_id in ids]
        idle = self.opened(at, "get user open", calls, auth=auth, probes=calls[:PROBES], rate=s.security_rate)
        busy = self._open_while_hashing(at, auth, calls, env | {"BENCH_RUN": "6"})
        record["get_user_p99_ms"] = {"idle": idle.p99_ms, "hashing": busy.p99_ms}

    def _against_raw(self, row: Row, raw_ceiling: Row) -> None:
        """Compare a security row with the raw argon2id rate instead of the bare app."""
        row.bare = raw_ceiling
        row.target = share_of_raw()
        shown = "-" if row.ratio is None else f"{row.ratio:.3f}"
        log(f"{row.engine} {row.scenario}: {shown} of {raw_ceiling.scenario} ({raw_ceiling.rps:,.1f}/s)")

    def _security_users(self, at: Served, auth: str, url: str) -> tuple[list[int], list[int]]:
        """SECURE_USERS users made through Create User with the bench password and
        LOOKUP_USERS without a security block (run 4 of user_body), untimed."""
        port = at.server.port

        def create(bodies: Sequence[bytes]) -> list[int]:
            requests = [build_request("POST", "127.0.0.1", port, "/user", auth, body) for body in bodies]
            answers = run_async(exchange_all("127.0.0.1", port, requests, 32))
            ids = [int(json.loads(body)["info"]["id"]) for status, body in answers if status == 200]
            if len(ids) < len(bodies):
                log(
                    f"{len(bodies) - len(ids):,} of {len(bodies):,} Create Users for the security rows failed"
                )
            return ids

        log(f"{at.engine}: making {SECURE_USERS} users with a password and {LOOKUP_USERS:,} without")
        secure = create([user_body(4, n, security=True) for n in range(SECURE_USERS)])
        plain = create([user_body(4, 100_000 + n) for n in range(LOOKUP_USERS)])
        if not secure or not plain:
            raise BenchError("the users of the security rows could not be created")
        if at.engine == "postgres":
            self.procs.analyze_postgres(url)
        return secure, plain

    def _validate(self, at: Served, auth: str, user_ids: Sequence[int], raw_ceiling: Row) -> None:
        """POST /user/security/validate/{id} (Validate User Password) cycling over users that
        have the bench password; a row saying "not available" when the route does not answer
        the seed's success shape (result.code "0000")."""
        s = self.settings
        paths = [validate_path(user_id) for user_id in user_ids]
        missing = validate_unavailable(at.server, paths[0], auth)
        if missing:
            row = Row(
                at.engine,
                "validate password",
                f"c={s.connections}",
                at.processes,
                math.nan,
                math.nan,
                math.nan,
                0,
                raw={"available": False, "reason": missing},
                bare=raw_ceiling,
                target=share_of_raw(),
            )
            self.rows.append(row)
            log(f"{at.engine} validate password: not available ({missing})")
            return
        env = {
            "BENCH_AUTH": auth,
            "BENCH_BODY": VALIDATE_BODY.decode(),
            "BENCH_PATHS_FILE": str(self._paths_file(f"validate-{at.engine}", paths)),
        }
        probes = [Call("POST", path, VALIDATE_BODY) for path in paths[:PROBES]]
        row = self.closed(at, "validate password", "post.lua", env, probes=probes, auth=auth)
        self._against_raw(row, raw_ceiling)

    def _open_while_hashing(
        self, at: Served, auth: str, calls: Sequence[Call], load_env: dict[str, str]
    ) -> Row:
        """Get User at --security-rate (open loop) while wrk sends Create Users with security
        at 32 connections, which keeps every API process's CPU pool full (four hashes a
        request, 32 requests in flight); the load starts a second before the warm-up and ends
        two after the measured run."""
        s = self.settings
        rate = s.security_rate
        port = at.server.port
        requests = [build_request(c.method, "127.0.0.1", port, c.path, auth, c.body) for c in calls]

        def go(duration: float) -> OpenLoopResult:
            return run_async(
                open_loop(
                    "127.0.0.1",
                    port,
                    requests,
                    rate=rate,
                    duration=duration,
                    connections=s.open_connections,
                    drain_timeout=drain_seconds(duration),
                )
            )

        settle(at.server, self.database_pid)
        background = Background(
            self.wrk,
            at.server.base_url,
            connections=s.connections,
            threads=s.threads,
            seconds=math.ceil(1 + s.warmup + s.duration + 2),
            env=load_env,
        )
        time.sleep(1.0)
        if s.warmup > 0:
            go(s.warmup)
        meter = CpuMeter(at.server.pid, self.database_pid)
        result = go(s.duration)
        cpu = meter.stop()
        load = background.result()
        row = Row(
            at.engine,
            "get user open (hashing)",
            f"{rate:g}/s",
            at.processes,
            result.achieved_rate,
            result.latency_ms["p50"],
            result.latency_ms["p99"],
            result.errors,
            raw=result.to_json() | {"background": load.to_json()},
        )
        row.notes.append(
            f"meanwhile Create User with security at c={s.connections}: {load.rps:,.1f} req/s "
            f"({load.rps * HASHES_PER_CREATE:,.0f} argon2id hashes/s), {load.errors} errors; "
            f"the server used {cpu.server:.2f} cores"
        )
        if result.unfinished:
            row.notes.append(
                f"{result.unfinished} requests had no answer {drain_seconds(s.duration):g} s after the run"
            )
        if result.max_send_lag_ms > 5:
            row.notes.append(f"the generator fell up to {result.max_send_lag_ms:.1f} ms behind its schedule")
        row.cpu = cpu
        if cpu.other > OTHER_CPU_WARNING:
            row.notes.append(f"other processes used {cpu.other:.2f} cores during the run: figures disturbed")
        self.rows.append(row)
        log(
            f"{row.engine} {row.scenario} {row.load} x{row.processes}: p50 {row.p50_ms:.2f} ms, "
            f"p99 {row.p99_ms:.2f} ms, {row.errors} errors; beside it create user (security) "
            f"{load.rps:,.1f}/s"
        )
        return row

    def run_search(self) -> None:
        count = self.settings.search_customers
        folder = self.workdir / "search"
        folder.mkdir()
        db_file = folder / "patron.db"
        url = f"sqlite+aiosqlite:///{db_file}"
        creds = self._search_database(url, db_file, count)
        server = self.procs.start_patron("patron-search", url, self.settings.workers)
        at = Served(server, "sqlite", self.processes["sqlite"])
        auth = creds.basic_auth()
        try:
            queries = search_queries(server, auth)
            paths = [search_path(q) for _, q in queries]
            env = {"BENCH_AUTH": auth, "BENCH_PATHS_FILE": str(self._paths_file("search", paths))}
            probes = [Call("GET", path) for path in paths[:PROBES]]
            scenario = f"search ({count:,} customers)"
            self.closed(at, scenario, "paths.lua", env, probes=probes, auth=auth)
            self.closed(at, scenario, "paths.lua", env, connections=1, probes=probes, auth=auth)
            self.extra["search_queries"] = self._search_breakdown(server, auth, queries)
        finally:
            self.procs.stop_server(server)

    def run_loyalty(self, engine: str) -> None:
        """A fresh database with the loyalty org, loaded by bench/loyalty_load.py in steps:
        after each step Patron is started and loyalty details are read; after the last,
        purchases are recorded too. Patron is stopped while the loader grows the ledger."""
        s = self.settings
        folder = self.workdir / f"loyalty-{engine}"
        folder.mkdir()
        if engine == "sqlite":
            url = f"sqlite+aiosqlite:///{folder / 'patron.db'}"
            stop_db: Callable[[], None] = lambda: None  # noqa: E731  (the folder goes below)
        else:
            url, root, stop_db = self.procs.start_postgres(durable=True)
            self.database_pid = postmaster_pid(root)
            log(f"loyalty: started a durable throwaway PostgreSQL server (tests/pg.py) in {root}")
        creds = self.procs.create_org(url, f"bench-loyalty-{engine}", LOYALTY_CONFIG)
        auth = creds.basic_auth()
        record: dict[str, Any] = {"customers": s.loyalty_customers, "org_id": creds.org_id, "steps": []}
        self.extra.setdefault("loyalty", {})[engine] = record
        try:
            for step, entries in enumerate(s.ledger_entries):
                log(
                    f"{engine} loyalty: bringing the org to {s.loyalty_customers:,} customers and "
                    f"{entries:,} ledger entries (bench/loyalty_load.py, not the API)"
                )
                try:
                    loaded = load_loyalty(
                        url,
                        creds.org_id,
                        s.loyalty_customers,
                        entries,
                        log=lambda message: log(f"{engine} loyalty load: {message.strip()}"),
                    )
                except LoadError as exc:
                    raise BenchError(f"the loyalty load failed: {exc}") from None
                record["steps"].append({"entries": entries, "load": loaded.to_json()})
                log(
                    f"{engine} loyalty: {loaded.entries:,} entries over {loaded.customers:,} customers "
                    f"({loaded.entries_written:,} written in {loaded.seconds:.0f} s); starting `patron run`"
                )
                server = self.procs.start_patron(f"patron-loyalty-{engine}-{step}", url, s.workers)
                at = Served(server, engine, self.processes[engine])
                try:
                    self._loyalty_reads(at, auth, loaded, entries)
                    if step == len(s.ledger_entries) - 1:
                        self._purchases(at, auth, loaded, entries)
                        self._coupons(at, auth, loaded)
                finally:
                    self.procs.stop_server(server)
        finally:
            stop_db()
            self.database_pid = None
            remove_tree(folder)

    def _loyalty_target(self, row: Row, scenario: str, entries: int) -> None:
        if row.target is not None:  # a target is judged at the load it is stated for
            row.target = loyalty_target(scenario, self.settings.loyalty_customers, entries)

    def _loyalty_reads(self, at: Served, auth: str, loaded: Loaded, entries: int) -> None:
        """GET /v2/customers/{id}/loyaltyDetails over every loaded customer, in a shuffled order."""
        ids = list(range(loaded.first_customer, loaded.last_customer + 1))
        random.Random(entries).shuffle(ids)
        paths = [loyalty_details_path(customer_id) for customer_id in ids]
        name = f"loyalty-{at.engine}-{entries}"
        env = {"BENCH_AUTH": auth, "BENCH_PATHS_FILE": str(self._paths_file(name, paths))}
        probes = [Call("GET", path) for path in paths[:PROBES]]
        scenario = f"loyalty read ({millions(entries)} entries)"
        row = self.closed(at, scenario, "paths.lua", env, probes=probes, auth=auth)
        self._loyalty_target(row, "loyalty read", entries)

    def _purchases(self, at: Served, auth: str, loaded: Loaded, entries: int) -> None:
        """POST /v2/transactions: a REGULAR purchase of a random loaded customer, each with a
        bill number of its own (lua/purchase.lua)."""
        span = {"BENCH_FIRST_ID": str(loaded.first_customer), "BENCH_LAST_ID": str(loaded.last_customer)}
        env = {"BENCH_AUTH": auth} | span
        rng = random.Random(entries)
        probes = [
            Call(
                "POST",
                "/v2/transactions",
                purchase_body(
                    f"probe-{n}",
                    rng.randrange(100_000, 500_000),
                    rng.randint(loaded.first_customer, loaded.last_customer),
                ),
            )
            for n in range(PROBES)
        ]
        row = self.closed(
            at,
            f"purchase ({millions(entries)} entries)",
            "purchase.lua",
            env | {"BENCH_RUN": "1"},
            warm_env=env | {"BENCH_RUN": "0"},
            probes=probes,
            auth=auth,
        )
        self._loyalty_target(row, "purchase", entries)

    def _coupons(self, at: Served, auth: str, loaded: Loaded) -> None:
        """POST /v2/coupons/issue (series 11 to a random loaded customer) and POST
        /v2/coupons/redeem (lua/bodies.lua). The redemptions cycle over coupons issued first,
        untimed, of series 13, which allows any number of redemptions, so every request is a
        full redemption (the conditional count and the redemption row) however long the run."""
        ids = list(range(loaded.first_customer, loaded.last_customer + 1))
        random.Random(11).shuffle(ids)
        ids = ids[:COUPON_BODIES]
        issues = [coupon_issue_body(COUPON_SERIES, customer_id) for customer_id in ids]
        env = {"BENCH_AUTH": auth, "BENCH_PATH": "/v2/coupons/issue"}
        env["BENCH_BODIES_FILE"] = str(self._lines_file(f"coupon-issue-{at.engine}", issues))
        probes = [Call("POST", "/v2/coupons/issue", body) for body in issues[:PROBES]]
        self.closed(at, "coupon issue", "bodies.lua", env, probes=probes, auth=auth)
        pool = []
        for customer_id in ids[:COUPON_POOL]:
            answer = post_json(
                at.server, "/v2/coupons/issue", coupon_issue_body(REUSABLE_SERIES, customer_id), auth
            )
            pool.append(coupon_redeem_body(str(answer["coupon"]["couponCode"]), customer_id))
        env = {"BENCH_AUTH": auth, "BENCH_PATH": "/v2/coupons/redeem"}
        env["BENCH_BODIES_FILE"] = str(self._lines_file(f"coupon-redeem-{at.engine}", pool))
        probes = [Call("POST", "/v2/coupons/redeem", body) for body in pool[:PROBES]]
        self.closed(at, "coupon redeem", "bodies.lua", env, probes=probes, auth=auth)

    # Helpers --------------------------------------------------------------------------

    def _lines_file(self, name: str, bodies: Sequence[bytes]) -> Path:
        path = self.workdir / f"bodies-{name}.txt"
        path.write_bytes(b"\n".join(bodies) + b"\n")
        return path

    def _paths_file(self, name: str, paths: Sequence[str]) -> Path:
        path = self.workdir / f"paths-{name}.txt"
        path.write_text("\n".join(paths) + "\n")
        return path

    def _search_database(self, url: str, db_file: Path, count: int) -> Credentials:
        """A SQLite database with `count` demo customers in one org: reused or loaded."""
        snapshot = self.settings.search_snapshot
        meta_file = snapshot.with_name(snapshot.name + ".json") if snapshot else None
        if snapshot and meta_file and snapshot.exists() and meta_file.exists():
            meta = json.loads(meta_file.read_text())
            if meta.get("customers") == count:
                log(f"search: reusing {snapshot} ({count:,} customers, loaded {meta.get('loadedAt')})")
                copy_sqlite(snapshot, db_file)
                self.extra["search_load"] = {"method": "snapshot", "snapshot": str(snapshot), **meta}
                return self.procs.create_till(url, int(meta["orgId"]))
            log(f"search: {snapshot} holds {meta.get('customers')} customers, not {count}: loading anew")
        creds = self.procs.create_org(url, "bench-search")
        seconds, created = self._demo_load(url, db_file, creds.org_id, count)
        self.extra["search_load"] = {
            "method": "patron demo load",
            "customers": created,
            "seconds": round(seconds, 1),
            "per_second": round(created / seconds, 1) if seconds else None,
        }
        if snapshot and meta_file:
            snapshot.parent.mkdir(parents=True, exist_ok=True)
            copy_sqlite(db_file, snapshot)
            meta_file.write_text(
                json.dumps(
                    {
                        "orgId": creds.org_id,
                        "customers": count,
                        "loadedAt": datetime.now(UTC).isoformat(),
                        "commit": git_commit(),
                    }
                )
            )
            log(f"search: saved the loaded database as {snapshot}")
        return creds

    def _demo_load(self, url: str, db_file: Path, org_id: int, count: int) -> tuple[float, int]:
        log(
            f"search: loading {count:,} customers with `patron demo load` (one process, through the "
            "service layer, 64 registrations in flight sharing their commits)"
        )
        argv = [str(PATRON), "demo", "load", "--org", str(org_id), "--customers", str(count)]
        log_file = self.workdir / "demo-load.log"
        started = time.monotonic()
        process = self.procs.spawn("patron demo load", argv, self.procs.patron_env(url), log_file)
        next_report = started + 60
        while process.poll() is None:
            time.sleep(0.5)
            if time.monotonic() >= next_report:
                next_report += 60
                done = count_customers(db_file)
                elapsed = time.monotonic() - started
                if done:
                    eta = (count - done) * elapsed / done
                    log(
                        f"search: {done:,}/{count:,} customers after {elapsed:.0f} s "
                        f"({done / elapsed:.0f}/s, about {eta / 60:.1f} min to go)"
                    )
        seconds = time.monotonic() - started
        output = log_file.read_text(errors="replace")
        if process.returncode != 0:
            raise BenchError(f"patron demo load failed ({process.returncode}):\n{output[-2000:]}")
        created = count
        for line in output.splitlines():
            if line.startswith("registered "):
                created = int(line.split()[1])
        log(f"search: {created:,} customers loaded in {seconds:.0f} s ({created / seconds:.0f}/s)")
        return seconds, created

    def _search_breakdown(
        self, server: Server, auth: str, queries: Sequence[tuple[str, str]]
    ) -> list[dict[str, Any]]:
        """Each query alone, one after another: how long it takes and how much it matches."""
        repeats = 10 if self.settings.duration < 5 else 20
        results = []
        for kind, q in queries:
            request = build_get("127.0.0.1", server.port, search_path(q), auth)
            latencies, non2xx, body = run_async(sequential("127.0.0.1", server.port, request, repeats))
            pagination = json.loads(body).get("pagination", {}) if body.startswith(b"{") else {}
            stats = summarize(latencies)
            results.append(
                {
                    "kind": kind,
                    "q": q,
                    "matches": pagination.get("total"),
                    # Patron counts exactly up to a bound; past it `total` is a lower bound.
                    "matches_exact": pagination.get("totalIsExact", True),
                    "repeats": repeats,
                    "non2xx": non2xx,
                    "p50_ms": stats["p50"],
                    "max_ms": stats["max"],
                }
            )
        return results


# Talking to a server ------------------------------------------------------------------------


CORES = os.cpu_count() or 1


def poorly_spread(row: Row) -> bool:
    """A closed-loop run of several processes that used much less than the cores they could
    while the machine had cores idle: wrk's connections landed on too few of them."""
    cpu = row.cpu
    if cpu is None or row.open_loop or row.processes < 2:
        return False
    return cpu.server < 0.7 * min(row.processes, CORES) and CORES - cpu.machine > 0.5


def drain_seconds(duration: float) -> float:
    """How long an open-loop run waits for the answers still owed when its schedule ends."""
    return 2 * duration + 10


def settle(server: Server, database_pid: int | None, idle_cores: float = 0.2, timeout: float = 60.0) -> None:
    """Wait until the server (all its processes) and the database server (PostgreSQL's
    background writers, autovacuum) have worked off what a warm-up left: their CPU use drops."""

    def busy() -> float:
        return tree_cpu(server.pid) + (tree_cpu(database_pid) if database_pid else 0.0)

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = busy()
        time.sleep(0.25)
        if (busy() - before) / 0.25 < idle_cores:
            return
    log(f"{server.name} still busy {timeout:.0f} s after the warm-up; measuring anyway")


def post_json(server: Server, path: str, body: bytes, auth: str) -> Any:
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    request = urllib.request.Request(server.base_url + path, data=body, method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def validate_unavailable(server: Server, path: str, auth: str) -> str | None:
    """Why Validate User Password cannot be measured (None when it answers result.code "0000")."""
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    request = urllib.request.Request(
        server.base_url + path, data=VALIDATE_BODY, method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        return f"POST {path.rsplit('/', 1)[0]}/{{id}} answered {exc.code}"
    try:
        code = json.loads(body).get("result", {}).get("code")
    except (ValueError, AttributeError):
        return "the answer is not the seed's JSON envelope"
    return None if code == "0000" else f'result.code {code!r}, not "0000"'


def get_json(server: Server, path: str, auth: str) -> Any:
    request = urllib.request.Request(server.base_url + path, headers={"Authorization": auth})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def matched_values(document: Any, id_type: str) -> list[str]:
    return [
        str(item["idValue"])
        for hit in document.get("data", [])
        for item in hit.get("matchedIdentifiers", [])
        if item.get("idType") == id_type
    ]


def stored_customers(server: Server, auth: str, want: int) -> list[tuple[int, str]]:
    """Up to `want` (customer id, mobile) pairs of stored customers, paging the search API."""
    found: dict[int, str] = {}
    offset = 0
    while len(found) < want:
        document = get_json(server, search_path("9198", SEARCH_PAGE, offset), auth)
        hits = document.get("data", [])
        for hit in hits:
            mobiles = [m["idValue"] for m in hit.get("matchedIdentifiers", []) if m.get("idType") == "mobile"]
            if mobiles:
                found.setdefault(int(hit["userId"]), str(mobiles[0]))
        if len(hits) < SEARCH_PAGE:
            break
        offset += SEARCH_PAGE
    return list(found.items())[:want]


def customer_keys(server: Server, auth: str, want: int) -> list[tuple[int, str]]:
    """`want` customers the reads and updates cycle over: those the register runs stored,
    topped up by registering more when they were fewer (a slow server)."""
    keys = stored_customers(server, auth, want)
    missing = want - len(keys)
    if missing > 0:
        log(f"the register runs stored {len(keys):,} customers; registering {missing:,} more")
        requests = [
            build_request("POST", "127.0.0.1", server.port, "/v2/customers", auth, register_body(m))
            for m in (spare_mobile(2, n) for n in range(missing))
        ]
        statuses = run_async(send_all("127.0.0.1", server.port, requests, 32))
        failed = sum(1 for status in statuses if not 200 <= status <= 299)
        if failed:
            log(f"{failed:,} of those registrations failed")
        keys = stored_customers(server, auth, want)
    if not keys:
        raise BenchError("no customer is stored, so there is nothing to look up")
    return keys


def search_queries(server: Server, auth: str) -> list[tuple[str, str]]:
    """Realistic prefixes: first and last names, a mobile cut at several lengths, emails."""
    queries = [("name", q) for q in NAME_PREFIXES]
    mobiles = matched_values(get_json(server, search_path("9198"), auth), "mobile")
    if mobiles:
        m = mobiles[0]
        queries += [("mobile", m[:n]) for n in (5, 7, 9, 11)] + [("mobile", m)]
    emails = matched_values(get_json(server, search_path("tom."), auth), "email")
    if emails:
        e = emails[0]
        local = e.split("@")[0]
        queries += [
            ("email", "tom."),
            ("email", local[: local.index(".") + 3]),
            ("email", local),
            ("email", e),
        ]
    return queries


# Files and the machine ----------------------------------------------------------------------


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite database consistently (WAL included) with the backup API; the copy is a
    single file (rollback journal), so reading it later leaves no -wal or -shm beside it."""
    target.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def postmaster_pid(root: Path) -> int | None:
    """The PostgreSQL server's main process, from the first line of its postmaster.pid."""
    try:
        return int((root / "data" / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def count_customers(db_file: Path) -> int:
    """How many customers a database holds so far (0 when it cannot tell); progress only."""
    try:
        conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return 0
    try:
        return int(conn.execute("SELECT count(*) FROM customer").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def git_commit() -> str | None:
    result = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or None


def machine(wrk: str) -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    version = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False).stdout
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "wrk": version.splitlines()[0] if version else None,
        "commit": git_commit(),
    }


# Entry point --------------------------------------------------------------------------------


def _terminate(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM: stop and clean up as on Ctrl-C


def main(argv: Sequence[str]) -> int:
    settings = parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    signal.signal(signal.SIGTERM, _terminate)
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="patron-bench-"))
    started = datetime.now(UTC)
    bench: Bench | None = None
    failure: str | None = None
    try:
        with Processes(workdir) as procs:
            if settings.keep_temp:
                log(f"temporary files (kept): {workdir}")
            processes = {engine: api_processes(engine, settings.workers) for engine in ENGINES}
            bench = Bench(settings, procs, workdir, wrk, processes)
            if not settings.security_only:  # the security rows compare with raw argon2id
                bench.run_bare()
            if not settings.loyalty_only:
                for engine in ("postgres",) if settings.scaling_only else settings.engines:
                    bench.run_engine(engine)
            if settings.search_customers:
                bench.run_search()
            if settings.ledger_entries:
                for engine in settings.engines:
                    bench.run_loyalty(engine)
    except BenchError as exc:
        failure = str(exc)
        log(f"error: {exc}")
    except KeyboardInterrupt:
        failure = "interrupted"
        log("interrupted: servers stopped, temporary files removed")
    finally:
        if not settings.keep_temp:
            remove_tree(workdir)
    if bench is None or not bench.rows:
        return 1 if failure else 0
    print_report(bench)
    document = {
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "failure": failure,
        "settings": {
            "duration_s": settings.duration,
            "warmup_s": settings.warmup,
            "connections": settings.connections,
            "wrk_threads": settings.threads,
            "open_loop_rate": settings.rate,
            "open_loop_connections": settings.open_connections,
            "engines": list(settings.engines),
            "workers": settings.workers,
            "api_processes": bench.processes,
            "search_customers": settings.search_customers,
            "loyalty_customers": settings.loyalty_customers if settings.ledger_entries else 0,
            "ledger_entries": list(settings.ledger_entries),
            "users_only": settings.users_only,
            "security_only": settings.security_only,
            "security_rate": settings.security_rate,
            "scaling_workers": list(settings.scaling_workers),
            "scaling_only": settings.scaling_only,
            "probes_per_scenario": PROBES,
            "postgres_durable": True,
        },
        "machine": machine(wrk),
        "rows": [row.to_json() for row in bench.rows],
        **bench.extra,
    }
    write_json(settings.output, document)
    shown = settings.output.relative_to(REPO) if settings.output.is_relative_to(REPO) else settings.output
    print(f"\nraw numbers: {shown}")
    if failure:
        print(f"incomplete run: {failure.splitlines()[0]}")
    return 130 if failure == "interrupted" else (1 if failure else 0)


def print_report(bench: Bench) -> None:
    s = bench.settings
    print()
    print(
        f"Patron benchmark: {s.duration:g} s per run after {s.warmup:g} s warm-up; closed loop with wrk "
        f"(c = connections), open loop at a fixed offered rate (latency from the scheduled send time)."
    )
    served = ", ".join(f"{engine} {bench.processes[engine]}" for engine in s.engines)
    print(
        f"procs = API processes ({served}; the bare app is served with as many); PostgreSQL durable "
        "(fsync, synchronous_commit on), SQLite synchronous=FULL."
    )
    print(
        f"stmts/req = x-patron-statements of {PROBES} probe requests sent before the load (min-max); "
        "srv cpu = cores used by the server's processes (+ PostgreSQL's);"
    )
    print("bare = the bare app's figure for the same method, load and processes; ratio = req/s / bare req/s.")
    print()
    print(table([row for row in bench.rows if not is_scaling(row)]))
    if s.connections != TARGET_CONNECTIONS or s.rate != TARGET_RATE:
        print(
            f"\ntargets are stated for c={TARGET_CONNECTIONS} and {TARGET_RATE:,.0f}/s offered: "
            "rows at other loads are not judged"
        )
    notes = [(row, note) for row in bench.rows for note in row.notes]
    if notes:
        print()
        for row, note in notes:
            print(f"note: {row.engine} {row.scenario} {row.load} x{row.processes}: {note}")
    load = bench.extra.get("search_load")
    if load:
        print()
        if load["method"] == "snapshot":
            print(f"search data: reused snapshot {load['snapshot']} ({load['customers']:,} customers)")
        else:
            print(
                f"search data: {load['customers']:,} customers registered with `patron demo load` in "
                f"{load['seconds']:,.0f} s ({load['per_second']:,.0f}/s)"
            )
    breakdown = bench.extra.get("search_queries")
    if breakdown:
        print("search queries one at a time (c=1):")
        width = max(len(item["q"]) for item in breakdown)
        print(f"  {'kind':<7} {'q':<{width}}  {'matches':>8}  {'p50 ms':>8}  {'max ms':>8}")
        for item in breakdown:
            matches = "-" if item["matches"] is None else f"{item['matches']:,}"
            if not item["matches_exact"]:
                matches += "+"
            print(
                f"  {item['kind']:<7} {item['q']:<{width}}  {matches:>8}  {item['p50_ms']:>8.2f}  "
                f"{item['max_ms']:>8.2f}"
            )
    users = [r for r in bench.rows if r.scenario in USER_ROWS]
    if users:
        print("\nthe user namespace (seed 004):")
        print_per_core(users)
    print_security(bench)
    print_loyalty(bench)
    scaling = bench.extra.get("scaling")
    print_section([row for row in bench.rows if is_scaling(row)], scaling and scaling["metrics_observe"])


def print_security(bench: Bench) -> None:
    """The security rows of each engine in one paragraph: raw argon2id, the API's share of
    it, and Get User's p99 with and without password work beside it."""
    security: dict[str, Any] = bench.extra.get("security", {})
    if not security:
        return
    print(
        f"\nsecurity flows (issue 12): argon2id m={sensitive_params()}, on a pool of {pool_threads()} "
        "threads per process; ratio = the API's rate / what raw argon2id allows it"
    )
    for engine in security:
        rows = {r.scenario: r for r in bench.rows if r.engine == engine}
        hashed, verified = rows.get("argon2id hash (raw)"), rows.get("argon2id verify (raw)")
        if hashed is None or verified is None:
            continue
        parts = [
            f"raw {hashed.rps:,.1f} hashes/s and {verified.rps:,.1f} verifies/s "
            f"(one takes {hashed.p50_ms:.1f} ms)"
        ]
        for name, per in (("create user (security)", HASHES_PER_CREATE), ("validate password", 1)):
            row = rows.get(name)
            if row is None:
                continue
            if row.raw.get("available") is False:
                parts.append(f"{name}: not available ({row.raw.get('reason')})")
                continue
            ratio = "-" if row.ratio is None else f"{row.ratio:.2f}"
            parts.append(f"{name} {row.rps:,.1f}/s ({per} argon2id each) = {ratio} of raw")
        idle, busy = rows.get("get user open"), rows.get("get user open (hashing)")
        if idle is not None and busy is not None:
            parts.append(
                f"get user p99 at {idle.load}: {idle.p99_ms:.2f} ms idle, {busy.p99_ms:.2f} ms while hashing"
            )
        print(f"  {engine}: " + "; ".join(parts))


def sensitive_params() -> str:
    return (
        f"{sensitive.ARGON2_MEMORY_KIB} KiB, t={sensitive.ARGON2_TIME_COST}, p={sensitive.ARGON2_PARALLELISM}"
    )


def print_loyalty(bench: Bench) -> None:
    """How the loyalty data was loaded, and the loyalty reads side by side by ledger size."""
    loyalty: dict[str, Any] = bench.extra.get("loyalty", {})
    if not loyalty:
        return
    print()
    for engine, record in loyalty.items():
        steps = [
            f"{step['load']['entries']:,} entries ({step['load']['entries_written']:,} written in "
            f"{step['load']['seconds']:,.0f} s)"
            for step in record["steps"]
        ]
        print(
            f"loyalty data ({engine}): {record['customers']:,} customers, bench/loyalty_load.py: "
            + ", then ".join(steps)
        )
    print("loyalty reads by ledger size (c=32):")
    for engine in loyalty:
        rows = [r for r in bench.rows if r.engine == engine and r.scenario.startswith("loyalty read")]
        if not rows:
            continue
        cells = [
            f"{r.scenario.split('(')[1].rstrip(')')}: {r.rps:,.0f} req/s"
            + ("" if r.ratio is None else f" ({r.ratio:.3f} x bare)")
            for r in rows
        ]
        change = (
            f"; the last is {rows[-1].rps / rows[0].rps:.0%} of the first"
            if len(rows) > 1 and rows[0].rps
            else ""
        )
        print(f"  {engine}: " + ", ".join(cells) + change)
    print_per_core([r for r in bench.rows if r.engine in loyalty and r.scenario.startswith(LOYALTY_ROWS)])


def print_per_core(rows: Sequence[Row]) -> None:
    """Each row per core used, beside the bare app's figure computed the same way."""
    if not rows:
        return
    # On a shared machine the server may get fewer cores than it could use, and not the
    # same share in every run: per core used, the figures compare across runs.
    print(
        "per core used (req/s / cores the server and its database used; steadier when others take the CPU):"
    )
    for row in rows:
        mine = per_core(row)
        bare = per_core(row.bare) if row.bare else 0.0
        versus = (
            f", bare {row.bare.scenario.split()[0]} {bare:,.0f}/core: {mine / bare:.3f}"
            if row.bare and bare
            else ""
        )
        print(f"  {row.engine} {row.scenario}: {mine:,.0f}/core{versus}")


def per_core(row: Row) -> float:
    """Requests per second per core the server (and its database) used during the run."""
    if row.cpu is None:
        return 0.0
    cores = row.cpu.server + (row.cpu.database or 0.0)
    return row.rps / cores if cores > 0 else 0.0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
