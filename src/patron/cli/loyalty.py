"""`patron loyalty ...`: the loyalty summaries checked against the points ledger."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

import typer

from patron.cli.database import run_with_database
from patron.config import Settings
from patron.db.engine import Database
from patron.loyalty import rebuild as rebuilding
from patron.loyalty.rebuild import Difference, Report

app = typer.Typer(help="Loyalty: check the summaries against the points ledger.", no_args_is_help=True)


def _number(value: int | Decimal | None) -> int | float | None:
    # Amounts are at most 12 digits and 2 decimals: a float prints them exactly.
    return float(value) if isinstance(value, Decimal) else value


def difference_json(d: Difference) -> dict[str, Any]:
    where: dict[str, Any] = (
        {"groupId": d.group_id}
        if d.group_id is not None
        else {"customerId": d.customer_id, "programId": d.program_id}
    )
    return {
        **where,
        "field": d.field,
        "stored": _number(d.stored),
        "ledger": _number(d.ledger),
        "fixed": d.fixed,
    }


def difference_line(d: Difference, dry_run: bool) -> str:
    where = (
        f"group {d.group_id}"
        if d.group_id is not None
        else f"customer {d.customer_id} program {d.program_id}"
    )
    stored = "no summary" if d.stored is None else f"{d.field} is {d.stored}"
    outcome = (
        "dry run: not written" if dry_run else "fixed" if d.fixed else "not fixed: no such customer or group"
    )
    return f"{where}: {stored}, the ledger says {d.field} {d.ledger} ({outcome})"


class _JsonOut:
    """The JSON report, written as the differences arrive (an org may have many)."""

    def __init__(self, org_id: int) -> None:
        self.org_id = org_id
        self.started = False

    def item(self, d: Difference) -> None:
        head = f'{{"orgId": {self.org_id}, "differences": [\n  ' if not self.started else ",\n  "
        self.started = True
        typer.echo(head + json.dumps(difference_json(d)), nl=False)

    def end(self, report: Report) -> None:
        head = "\n]" if self.started else f'{{"orgId": {self.org_id}, "differences": []'
        tail = {"accounts": report.accounts, "groups": report.groups, "entries": report.entries}
        typer.echo(head + ", " + json.dumps({**tail, "fixed": report.fixed})[1:])


@app.command("rebuild")
def rebuild(
    org: Annotated[int, typer.Option("--org", help="Org id.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report the differences; write nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report for scripts.")] = False,
) -> None:
    """Recompute every loyalty summary of an org from the points ledger, report each figure
    that differs and (unless --dry-run) write the ledger's figure. Exits 0 whenever it ran."""
    out = _JsonOut(org) if as_json else None

    def show(d: Difference) -> None:
        if out is not None:
            out.item(d)
        else:
            typer.echo(difference_line(d, dry_run))

    async def work(db: Database) -> Report:
        return await rebuilding.rebuild(db, org, dry_run=dry_run, on_difference=show)

    report: Report = run_with_database(Settings(), work)
    if out is not None:
        out.end(report)
        return
    n = report.differences
    if not n:
        found = "no differences"
    elif dry_run:
        found = f"{n} difference{'s' * (n != 1)} (dry run: nothing written)"
    else:
        found = f"{n} difference{'s' * (n != 1)}, {report.fixed} fixed"
    typer.echo(
        f"org {org}: {report.accounts} accounts, {report.groups} groups,"
        f" {report.entries} ledger entries; {found}"
    )
