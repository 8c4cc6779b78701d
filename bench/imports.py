"""The import's speed against a raw insert of the same rows (issue 15).

For each engine: a fresh database with one org, a JSON-lines file of N new customers
(mobile and email, every third an externalId, extended and custom fields, one INSTORE
profile), then `patron import customers` as a child process (its own summary gives the
seconds; /proc its peak RSS and its planning process's). Then every row the import wrote (customer, profiles,
identifiers, history, search terms, outbox events, and whatever else it wrote for the org)
is read back into memory, the tables are emptied, and the rows are written again raw:
PostgreSQL by COPY (asyncpg's copy_records_to_table, one per table), SQLite by executemany
in transactions of the same number of customers as the import's batches (synchronous=FULL,
as Patron runs it). The ratio is raw seconds / import seconds.

    .venv/bin/python bench/imports.py [--quick] [--customers N] [--engines sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import pg  # noqa: E402

from patron.db.engine import postgres_dsn, sqlite_path  # noqa: E402
from patron.db.migrate import upgrade  # noqa: E402

CONFIG = {
    "primaryIdentifier": "mobile",
    "defaultPhoneRegion": "IN",
    "sources": {"INSTORE": [], "WECHAT": ["WECHAT-CM"]},
    "extendedFields": [
        {"name": "gender", "type": "string", "values": ["Male", "Female"]},
        {"name": "city", "type": "string"},
    ],
    "customFields": ["employee"],
}
# Tables an import of these lines writes, parents first (the raw load's order).
TABLES = (
    "customer",
    "customer_profile",
    "customer_identifier",
    "customer_change",
    "search_term",
    "outbox_event",
)
FIRST = ("Aarav", "Ananya", "Tom", "Priya", "Rahul", "Meera", "Sara", "Arjun", "Li", "Mei")
LAST = ("Sharma", "Iyer", "Sawyer", "Patel", "Reddy", "Nair", "Singh", "Khan", "Wang", "Liu")
CITIES = ("Bangalore", "Mumbai", "Delhi", "Chennai", "Pune")


def log(message: str) -> None:
    print(f"[imports] {message}", file=sys.stderr, flush=True)


def write_file(path: Path, count: int, seed: int = 15) -> None:
    rng = random.Random(seed)
    base = 919700000000 + rng.randrange(0, 10_000_000)
    with path.open("w") as out:
        for i in range(count):
            mobile = str(base + i)
            first, last = rng.choice(FIRST), rng.choice(LAST)
            identifiers: list[dict[str, Any]] = [
                {"type": "mobile", "value": mobile},
                {"type": "email", "value": f"{first}.{last}.{mobile[-7:]}@example.com".lower()},
            ]
            if i % 3 == 0:
                identifiers.append({"type": "externalId", "value": f"EXT{mobile[-8:]}"})
            body = {
                "loyaltyInfo": {"loyaltyType": "loyalty"},
                "profiles": [
                    {
                        "firstName": first,
                        "lastName": last,
                        "source": "INSTORE",
                        "identifiers": identifiers,
                        "fields": {"employee": "true" if i % 17 == 0 else "false"},
                    }
                ],
                "extendedFields": {"gender": rng.choice(("Male", "Female")), "city": rng.choice(CITIES)},
            }
            out.write(json.dumps(body, separators=(",", ":")) + "\n")


def patron(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "patron.cli", *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"patron {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def _status_kib(pid: int, field: str) -> int:
    """A field of /proc/PID/status in KiB (VmHWM: the peak resident set since exec; VmRSS:
    the resident set now), 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _peak_kib(pid: int) -> int:
    return _status_kib(pid, "VmHWM")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            found += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def run_import(
    env: dict[str, str], org: int, path: Path, batch: int, trace: list[tuple[float, int]] | None = None
) -> tuple[dict[str, Any], int, int]:
    """The import as a child process: its JSON summary, its peak RSS and its planning
    process's, in KiB. Each is read from /proc while they run (VmHWM, the peak since exec):
    the rusage of a child counts the memory of the process it was forked from, before exec,
    which here is this benchmark holding a whole load of rows. `trace` gets the import
    process's resident set (seconds since start, KiB) every sample."""
    argv = [sys.executable, "-m", "patron.cli", "import", "customers", "--org", str(org), str(path)]
    argv += ["--json", "--no-progress", "--batch-size", str(batch)]
    peak = planner = 0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        started = time.monotonic()
        while child.poll() is None:
            peak = max(peak, _peak_kib(child.pid))
            if trace is not None and (rss := _status_kib(child.pid, "VmRSS")):
                trace.append((time.monotonic() - started, rss))
            for grandchild in _children(child.pid):
                planner = max(planner, _peak_kib(grandchild))
            time.sleep(0.2)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"the import failed: {err.read().decode()[-2000:]}")
        return json.loads(out.read()), peak, planner


# SQLite ------------------------------------------------------------------------------------


def sqlite_rows(path: Path, org: int) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    conn = sqlite3.connect(path)
    try:
        found = {}
        for table in TABLES:
            cursor = conn.execute(f"SELECT * FROM {table} WHERE org_id = ?", (org,))
            found[table] = ([d[0] for d in cursor.description], cursor.fetchall())
        return found
    finally:
        conn.close()


def sqlite_raw(empty: Path, rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]], batch: int) -> float:
    """executemany of the rows into a copy of the database as it was before the import, in
    transactions of `batch` customers each."""
    conn = sqlite3.connect(empty, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    ids = sorted(r[rows["customer"][0].index("customer_id")] for r in rows["customer"][1])
    chunks = [set(ids[i : i + batch]) for i in range(0, len(ids), batch)]
    split: list[dict[str, list[tuple[Any, ...]]]] = [{t: [] for t in TABLES} for _ in chunks]
    where = {cid: n for n, chunk in enumerate(chunks) for cid in chunk}
    for table, (columns, found) in rows.items():
        at = columns.index("customer_id")
        for r in found:
            split[where[r[at]]][table].append(r)
    started = time.perf_counter()
    for part in split:
        conn.execute("BEGIN IMMEDIATE")
        for table in TABLES:
            columns = rows[table][0]
            marks = ", ".join("?" for _ in columns)
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", part[table])
        conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


# PostgreSQL --------------------------------------------------------------------------------


async def pg_rows(dsn: str, org: int) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    conn = await asyncpg.connect(dsn)
    try:
        found = {}
        for table in TABLES:
            records = await conn.fetch(f"SELECT * FROM {table} WHERE org_id = $1", org)
            columns = list(records[0].keys()) if records else []
            found[table] = (columns, [tuple(r) for r in records])
        return found
    finally:
        await conn.close()


async def pg_raw(dsn: str, rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]]) -> float:
    """Empty the tables, then COPY the rows back, one COPY per table."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        await conn.execute("CHECKPOINT")
        started = time.perf_counter()
        for table in TABLES:
            columns, found = rows[table]
            if found:
                await conn.copy_records_to_table(table, records=found, columns=columns)
        return time.perf_counter() - started
    finally:
        await conn.close()


# The run -----------------------------------------------------------------------------------


def _deciles(trace: list[tuple[float, int]]) -> list[float]:
    """The import's resident set (MiB) at each tenth of its run, from the first to the last."""
    if not trace:
        return []
    end = trace[-1][0]
    picks, at = [], 0
    for tenth in range(11):
        while at < len(trace) - 1 and trace[at][0] < end * tenth / 10:
            at += 1
        picks.append(trace[at][1] / 1024)
    return picks


def bench_engine(
    engine: str, work: Path, file: Path, customers: int, batch: int, import_only: bool = False
) -> dict[str, Any]:
    stop = None
    if engine == "sqlite":
        url = f"sqlite+aiosqlite:///{work / 'import.db'}"
    else:
        server = pg.start(durable=True)
        stop, url = server.stop, server.url
    try:
        upgrade(url)
        env = {**os.environ, "PATRON_DATABASE_URL": url, "PATRON_SECRET_KEY_FILE": str(work / "secret.key")}
        config = work / "org.json"
        config.write_text(json.dumps(CONFIG))
        org = json.loads(patron(env, "org", "create", f"import-{engine}", "--config", str(config), "--json"))
        org_id = int(org["orgId"])
        empty = work / "empty.db"
        if engine == "sqlite":
            shutil.copy(sqlite_path(url), empty)
        log(f"{engine}: importing {customers:,} customers")
        trace: list[tuple[float, int]] = []
        summary, rss, planner_rss = run_import(env, org_id, file, batch, trace)
        log(f"{engine}: {summary['imported']:,} imported in {summary['seconds']:.1f} s")
        measured = {
            "engine": engine,
            "customers": summary["imported"],
            "import_seconds": summary["seconds"],
            "peak_rss_mib": rss / 1024,
            "planner_peak_rss_mib": planner_rss / 1024,
            "rss_deciles_mib": _deciles(trace),
            "refused": summary["refused"],
        }
        if import_only:
            return measured
        log(f"{engine}: the raw insert")
        if engine == "sqlite":
            rows = sqlite_rows(sqlite_path(url), org_id)
            raw = sqlite_raw(empty, rows, batch)
        else:
            dsn = postgres_dsn(url)
            rows = asyncio.run(pg_rows(dsn, org_id))
            raw = asyncio.run(pg_raw(dsn, rows))
        count = sum(len(found) for _, found in rows.values())
        return {**measured, "rows": count, "raw_seconds": raw, "ratio": raw / summary["seconds"]}
    finally:
        if stop is not None:
            stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="20,000 customers")
    parser.add_argument("--customers", type=int, default=None, help="customers to import (default 100,000)")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument(
        "--import-only",
        action="store_true",
        help="time the import and trace its memory, without the raw load (which reads every row"
        " back into memory: a million customers' rows are several GiB)",
    )
    args = parser.parse_args()
    customers = args.customers or (20_000 if args.quick else 100_000)
    results = []
    for engine in args.engines.split(","):
        work = Path(tempfile.mkdtemp(prefix=f"patron-import-{engine}-"))
        try:
            file = work / "customers.jsonl"
            write_file(file, customers)
            results.append(bench_engine(engine, work, file, customers, args.batch_size, args.import_only))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    if args.import_only:
        print(
            "| engine | customers | import s | customers/s | peak RSS MiB (import, planning)"
            " | RSS MiB at each tenth of the run |"
        )
        print("|---|---|---|---|---|---|")
        for r in results:
            tenths = ", ".join(f"{m:.0f}" for m in r["rss_deciles_mib"])
            print(
                f"| {r['engine']} | {r['customers']:,} | {r['import_seconds']:.1f} |"
                f" {r['customers'] / r['import_seconds']:,.0f} |"
                f" {r['peak_rss_mib']:.0f}, {r['planner_peak_rss_mib']:.0f} | {tenths} |"
            )
        return
    kind = {"sqlite": "executemany", "postgresql": "COPY"}
    print(
        "| engine | customers | rows | import s | import customers/s | raw | raw s | ratio | target"
        " | peak RSS MiB (import, planning) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        met = "met" if r["ratio"] >= 0.3 else "missed"
        print(
            f"| {r['engine']} | {r['customers']:,} | {r['rows']:,} | {r['import_seconds']:.1f} |"
            f" {r['customers'] / r['import_seconds']:,.0f} | {kind[r['engine']]} | {r['raw_seconds']:.2f} |"
            f" {r['ratio']:.2f} | >= 0.3: {met} | {r['peak_rss_mib']:.0f}, {r['planner_peak_rss_mib']:.0f} |"
        )


if __name__ == "__main__":
    main()
