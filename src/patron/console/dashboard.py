"""The dashboard: the org's last 30 days drawn as charts.

The numbers come from the read model `patron.reports.dashboard`; this module only shapes
them for the page: headline totals, and per chart its series (in a `data-series` JSON
attribute that static/dashboard.js draws with uPlot), a one-sentence summary (the canvas's
accessible name) and the same numbers as a table (shown when JavaScript is off).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from patron.api.deps import Db
from patron.console.web import ROOT, MaybeOperator, PagesDep, context, page, sign_in_first
from patron.reports.dashboard import Dashboard, dashboard

router = APIRouter(prefix=ROOT, include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: list[int | None]
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart of the page: `key` is its `data-chart`, `kind` how dashboard.js draws it."""

    key: str
    title: str
    kind: str  # bars or lines
    summary: str
    series: list[Series]

    def data(self, days: list[date]) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "x": [int(datetime.combine(d, time(), UTC).timestamp()) for d in days],
            "series": [{"label": s.label, "values": s.values, "unit": s.unit} for s in self.series],
        }

    @property
    def note(self) -> str:
        """The summary as shown under the heading (which already names the chart)."""
        _, _, rest = self.summary.partition(", last 30 days: ")
        return f"Last 30 days: {rest}" if rest else self.summary


def _peak(days: list[date], values: list[int]) -> str:
    best = max(range(len(values)), key=lambda i: (values[i], i))
    return f"most on {days[best].isoformat()} ({values[best]})"


def _counted(title: str, days: list[date], values: list[int]) -> str:
    total = sum(values)
    if not total:
        return f"{title}, last 30 days: none."
    return f"{title}, last 30 days: {total} in all, {_peak(days, values)}."


def _ms(value: int | None) -> str:
    return "–" if value is None else f"{value} ms"


def charts(d: Dashboard) -> list[Chart]:
    days = d.days
    earned, redeemed = sum(d.points_earned), sum(d.points_redeemed)
    points = (
        f"Points per day, last 30 days: {earned} earned, {redeemed} redeemed."
        if earned or redeemed
        else "Points per day, last 30 days: none earned or redeemed."
    )
    if any(d.attempts):
        worst = max((v for v in d.latency_p99 if v is not None), default=0)
        latency = (
            f"Webhook delivery latency per day, last 30 days: {sum(d.attempts)} attempts, p99 over the"
            f" 30 days {_ms(d.p99_window)}, highest daily p99 {worst} ms."
        )
    else:
        latency = "Webhook delivery latency per day, last 30 days: no deliveries."
    total_failed = sum(d.failures)
    if total_failed:
        top = d.failures_by_endpoint[0]
        failures = (
            f"Failed webhook deliveries per endpoint, last 30 days: {total_failed} in all,"
            f" most for endpoint {top.label} ({top.total})."
        )
    else:
        failures = "Failed webhook deliveries per endpoint, last 30 days: none."
    return [
        Chart(
            "registrations",
            "Registrations per day",
            "bars",
            _counted("Registrations per day", days, d.registrations),
            [Series("Registrations", list(d.registrations))],
        ),
        Chart(
            "purchases",
            "Purchases per day",
            "bars",
            _counted("Purchases per day", days, d.purchases),
            [Series("Purchases", list(d.purchases))],
        ),
        Chart(
            "points",
            "Points earned and redeemed per day",
            "lines",
            points,
            [Series("Earned", list(d.points_earned)), Series("Redeemed", list(d.points_redeemed))],
        ),
        Chart(
            "latency",
            "Webhook delivery latency per day",
            "lines",
            latency,
            [Series("p50", list(d.latency_p50), "ms"), Series("p99", list(d.latency_p99), "ms")],
        ),
        Chart(
            "failures",
            "Failed webhook deliveries per endpoint",
            "lines",
            failures,
            [Series(e.label, list(e.per_day)) for e in d.failures_by_endpoint]
            or [Series("Failed attempts", list(d.failures))],
        ),
    ]


def headlines(d: Dashboard) -> list[tuple[str, str, str]]:
    """(key, label, value) of the numbers above the charts."""
    return [
        ("registrations", "Registrations", str(sum(d.registrations))),
        ("purchases", "Purchases", str(sum(d.purchases))),
        ("points-earned", "Points earned", str(sum(d.points_earned))),
        ("points-redeemed", "Points redeemed", str(sum(d.points_redeemed))),
        ("attempts", "Delivery attempts", str(sum(d.attempts))),
        ("failures", "Failed attempts", str(sum(d.failures))),
        ("p99", "Delivery latency p99", _ms(d.p99_window)),
    ]


@router.get("/dashboard")
async def show_dashboard(request: Request, pages: PagesDep, db: Db, operator: MaybeOperator) -> Response:
    """The org's last 30 days: headline totals and five charts, each with its numbers."""
    if operator is None:
        return sign_in_first(request)
    d = await db.read(dashboard, context(request, operator))
    return pages.render(
        "dashboard.html",
        days=d.days,
        headlines=headlines(d),
        charts=charts(d),
        **page(operator, "dashboard"),
    )
