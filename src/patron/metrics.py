"""Prometheus metrics: what `GET /metrics` answers (api/ops.py) and the places that count.

Three kinds of figures:

- Counted where they happen: every HTTP request (api/edge.py: one histogram observation,
  labelled by the route's path template, the method and the status class; the histogram's
  `_count` is the request counter) and every webhook delivery attempt (webhooks/worker.py:
  by org, endpoint and outcome, with its latency).
- Sampled in each process: the CPU pool's queue (cpu.py), the database pool's connections
  in use and its size, and the SQLite writer's queue. Each process sets them every
  `SAMPLE_SECONDS` (`sample_forever`) and the process answering a scrape sets its own first.
- Read from the database at scrape time, the same whichever process answers, so never
  stored: the outbox lag (age of the oldest pending webhook delivery) and the dead
  deliveries. One statement reads every org (tests/orgscope.py lists it).

Multi-process mode: when `PROMETHEUS_MULTIPROC_DIR` names a directory, prometheus_client
keeps each process's figures in files there and the process answering a scrape adds them
up. `patron run` sets it (var/metrics, emptied at start) unless the operator did, so its API
processes and its delivery worker share one directory. The variable must be set before the
first metric is made: the metrics are made on first use (`get()`), not at import.

Labels are bounded: a route template or `unmatched` (never a raw path, which carries ids),
one of the known methods or `OTHER`, a status class (`2xx`); org and endpoint ids for
deliveries. No personal data is in any figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import re
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import REGISTRY, Collector

from patron import cpu
from patron.db.base import utcnow
from patron.db.sql import Q
from patron.db.uow import UnitOfWork

if TYPE_CHECKING:
    from patron.db.engine import Database

ENV = "PROMETHEUS_MULTIPROC_DIR"
DEFAULT_DIRECTORY = Path("var/metrics")
SAMPLE_SECONDS = 5.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Seconds. Request latencies from a lookup's few milliseconds to a slow write; deliveries
# up to the webhook timeout.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DELIVERY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
_CLASSES = tuple(f"{n}xx" for n in range(10))
UNMATCHED = "unmatched"


class Metrics:
    """The metrics this process records (one set per process, `get()`)."""

    def __init__(self, registry: CollectorRegistry | None = REGISTRY) -> None:
        self.requests = Histogram(
            "patron_http_request_duration_seconds",
            "HTTP requests: latency by route template, method and status class (_count: requests).",
            ("route", "method", "status"),
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.delivery_attempts = Counter(
            "patron_webhook_attempts",
            "Webhook delivery attempts by org, endpoint and outcome (delivered, retry, dead, disabled).",
            ("org", "endpoint", "outcome"),
            registry=registry,
        )
        self.delivery_seconds = Histogram(
            "patron_webhook_attempt_duration_seconds",
            "Webhook delivery attempts: time to the endpoint's answer (or the failure), by endpoint.",
            ("org", "endpoint"),
            buckets=DELIVERY_BUCKETS,
            registry=registry,
        )
        self.cpu_queue = Gauge(
            "patron_cpu_pool_queue",
            "Argon2 and other CPU work waiting for a thread of the CPU pool (sampled per process).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.db_in_use = Gauge(
            "patron_db_pool_in_use",
            "Database connections in use (PostgreSQL pool; sampled per process).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.db_size = Gauge(
            "patron_db_pool_size",
            "Database connections open (PostgreSQL pool; sampled per process).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.sqlite_queue = Gauge(
            "patron_sqlite_writer_queue",
            "Writes waiting for the SQLite writer (sampled per process).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        # (route template, method, status class) -> the histogram's child, for the edge.
        self._children: dict[tuple[str, str, int], Any] = {}

    def observe_request(self, scope: MutableMapping[str, Any], status: int, seconds: float) -> None:
        """One request, by the route it matched (api/edge.py calls this for every request)."""
        route = scope.get("route")
        path = UNMATCHED if route is None else getattr(route, "path", UNMATCHED)
        method = scope["method"]
        if method not in _METHODS:
            method = "OTHER"
        key = (path, method, status)
        child = self._children.get(key)
        if child is None:
            label = _CLASSES[status // 100] if 0 <= status < 1000 else "other"
            child = self._children[key] = self.requests.labels(path, method, label)
        child.observe(seconds)

    def attempt(self, org_id: int, endpoint_id: int, outcome: str, seconds: float | None) -> None:
        """One delivery attempt settled (webhooks/worker.py)."""
        org, endpoint = str(org_id), str(endpoint_id)
        self.delivery_attempts.labels(org, endpoint, outcome).inc()
        if seconds is not None:
            self.delivery_seconds.labels(org, endpoint).observe(seconds)

    def sample(self, db: Database | None) -> None:
        """Set this process's sampled gauges."""
        self.cpu_queue.set(cpu.queued())
        if db is None:
            return
        in_use, size, queued = db.load()
        self.db_in_use.set(in_use)
        self.db_size.set(size)
        self.sqlite_queue.set(queued)


_metrics: Metrics | None = None


def get() -> Metrics:
    """This process's metrics, made on first use: in multi-process mode when `ENV` is set by
    then (prometheus_client picks its storage when a metric is made)."""
    global _metrics
    if _metrics is None:
        if os.environ.get(ENV) and values.ValueClass is values.MutexValue:
            values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]  # the variable came after the import
        _metrics = Metrics()
    return _metrics


def multiprocess_directory() -> str | None:
    return os.environ.get(ENV) or None


def prepare_directory(environ: dict[str, str] | os._Environ[str]) -> Path:
    """For `patron run`: the directory its processes share, set in `environ` for them. Its
    own default (var/metrics) is emptied of the last run's files; a directory the operator
    named is left as it is (emptying it between runs is the operator's, docs/operations.md)."""
    given = environ.get(ENV)
    if given:
        return Path(given)
    directory = DEFAULT_DIRECTORY.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    environ[ENV] = str(directory)
    return directory


async def sample_forever(db: Database, stop: asyncio.Event) -> None:
    """Set this process's sampled gauges every SAMPLE_SECONDS until `stop`."""
    metrics = get()
    while not stop.is_set():
        metrics.sample(db)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_SECONDS)


# The deliveries' backlog, per org from the index (org_id, status, next_attempt_at): the
# pending and dead rows of each org are a range of it. One statement over every org.
_BACKLOG = Q(
    "SELECT org_id,"
    " (SELECT min(d.created_at) FROM webhook_delivery d"
    " WHERE d.org_id = org.org_id AND d.status = 'pending'),"
    " (SELECT count(*) FROM webhook_delivery d WHERE d.org_id = org.org_id AND d.status = 'dead')"
    " FROM org"
)


@dataclass(frozen=True, slots=True)
class Backlog:
    oldest_pending: datetime | None
    dead: int


async def backlog(uow: UnitOfWork) -> Backlog:
    """The oldest pending delivery's creation time and the dead deliveries, over every org."""
    oldest: datetime | None = None
    dead = 0
    for _, first, n in await uow.tx.all(_BACKLOG):
        if first is not None:
            at = _as_utc(first)
            oldest = at if oldest is None or at < oldest else oldest
        dead += int(n or 0)
    return Backlog(oldest, dead)


def _as_utc(value: datetime | str) -> datetime:
    # SQLite gives an aggregate's DATETIME as text (the column's declared type is lost).
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


class _Figures(Collector):
    def __init__(self, families: Sequence[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def _backlog_families(found: Backlog) -> list[Metric]:
    lag = 0.0 if found.oldest_pending is None else max(0.0, (utcnow() - found.oldest_pending).total_seconds())
    return [
        GaugeMetricFamily(
            "patron_outbox_lag_seconds",
            "Age of the oldest webhook delivery still pending, over every org (0: none pending).",
            value=lag,
        ),
        GaugeMetricFamily(
            "patron_webhook_dead_deliveries",
            "Webhook deliveries given up (dead) and not resent, over every org.",
            value=found.dead,
        ),
    ]


_PID_FILE = re.compile(r"_(\d+)\.db$")


def forget_dead_processes(directory: str) -> None:
    """Drop the sampled gauges of processes that ended (a killed or restarted API process
    would otherwise count forever); their counters stay, as counters must."""
    pids = set()
    for name in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        found = _PID_FILE.search(name)
        if found:
            pids.add(int(found.group(1)))
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except PermissionError:
            pass  # alive, another user's


def _collect_shared(directory: str) -> bytes:
    forget_dead_processes(directory)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


async def render(db: Database) -> bytes:
    """The scrape: this process's (or every process's) figures and the database's."""
    metrics = get()
    metrics.sample(db)
    found = await db.read(backlog)
    figures = CollectorRegistry(auto_describe=True)
    figures.register(_Figures(_backlog_families(found)))
    directory = multiprocess_directory()
    if directory:
        recorded = await asyncio.to_thread(_collect_shared, directory)
    else:
        recorded = generate_latest(REGISTRY)
    return recorded + generate_latest(figures)
