"""The figures of one benchmark run: rows, the printed table and the JSON file."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpu import CpuUse


@dataclass(frozen=True)
class Target:
    """A goal printed beside a figure; informational, never asserted. `check` says whether a
    row meets it, or gives the reason it cannot be judged from this run."""

    text: str
    check: Callable[[Row], bool | str]

    def verdict(self, row: Row) -> str:
        result = self.check(row)
        if isinstance(result, str):
            return f"not judged ({result})"
        if row.errors:
            return "MISSED (errors)"
        return "met" if result else "MISSED"


@dataclass
class Row:
    engine: str
    scenario: str
    load: str  # "c=32" (closed loop, 32 connections) or "1000/s" (open loop, offered rate)
    processes: int  # processes serving the API (uvicorn workers)
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    raw: dict[str, Any]
    statements: list[int] | None = None  # x-patron-statements of the probe requests
    cpu: CpuUse | None = None
    bare: Row | None = None
    target: Target | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def open_loop(self) -> bool:
        return self.load.endswith("/s")

    @property
    def ratio(self) -> float | None:
        """Patron's throughput as a share of the bare app's, closed-loop rows only."""
        if self.bare is None or self.open_loop or not self.bare.rps:
            return None
        return self.rps / self.bare.rps

    def target_text(self) -> str:
        if self.target is None:
            return ""
        return f"{self.target.text}: {self.target.verdict(self)}"

    def statements_text(self) -> str:
        """The probes' statement counts: "9", or "9-10" when they differ."""
        if not self.statements:
            return "-"
        low, high = min(self.statements), max(self.statements)
        return str(low) if low == high else f"{low}-{high}"

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "scenario": self.scenario,
            "load": self.load,
            "processes": self.processes,
            "rps": round(self.rps, 1),
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "errors": self.errors,
            "statements_per_request": self.statements,
            "cpu_cores": None if self.cpu is None else self.cpu.to_json(),
            "bare": None
            if self.bare is None
            else {
                "scenario": self.bare.scenario,
                "load": self.bare.load,
                "processes": self.bare.processes,
                "rps": round(self.bare.rps, 1),
                "p50_ms": self.bare.p50_ms,
                "p99_ms": self.bare.p99_ms,
                "errors": self.bare.errors,
            },
            "ratio_to_bare": None if self.ratio is None else round(self.ratio, 4),
            "target": None
            if self.target is None
            else {"text": self.target.text, "verdict": self.target.verdict(self)},
            "notes": self.notes,
            "raw": self.raw,
        }


def cpu_text(cpu: CpuUse | None) -> str:
    """Server cores, plus database cores when the database is a separate server."""
    if cpu is None:
        return "-"
    if cpu.database is None:
        return f"{cpu.server:.2f}"
    return f"{cpu.server:.2f}+{cpu.database:.2f}"


def number(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


HEADER = (
    "engine",
    "scenario",
    "load",
    "procs",
    "req/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "stmts/req",
    "srv cpu",
    "bare",
    "bare req/s",
    "bare p99",
    "ratio",
    "target",
)
RIGHT = {
    "procs",
    "req/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "stmts/req",
    "srv cpu",
    "bare req/s",
    "bare p99",
    "ratio",
}


def _cells(row: Row) -> list[str]:
    bare = row.bare
    return [
        row.engine,
        row.scenario,
        row.load,
        str(row.processes),
        number(row.rps, 0),
        number(row.p50_ms, 2),
        number(row.p99_ms, 2),
        f"{row.errors:,}",
        row.statements_text(),
        cpu_text(row.cpu),
        "-" if bare is None else bare.scenario.split()[0],
        "-" if bare is None else number(bare.rps, 0),
        "-" if bare is None else number(bare.p99_ms, 2),
        "-" if row.ratio is None else f"{row.ratio:.3f}",
        row.target_text(),
    ]


def table(rows: Sequence[Row]) -> str:
    """The rows as an aligned text table."""
    return aligned(HEADER, RIGHT, [_cells(row) for row in rows])


def aligned(header: Sequence[str], right: set[str], body: Sequence[Sequence[str]]) -> str:
    """An aligned text table: the header, a rule, then the body's lines; the columns named in
    `right` (numbers) are aligned right."""
    cells = [list(header)] + [list(line) for line in body]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    lines = []
    for n, line in enumerate(cells):
        parts = [
            cell.rjust(width) if header[i] in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(document), indent=2, allow_nan=False) + "\n")


def _clean(value: Any) -> Any:
    """JSON-ready: NaN and infinities become null, paths become strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
