"""`patron import customers` and `patron export customers` (docs/import.md)."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from patron.cli.database import SchemaNotReady, check_file, check_schema, fail
from patron.config import Settings
from patron.db.engine import Database, create_database
from patron.errors import PatronError
from patron.transfer.exporting import export_customers
from patron.transfer.importing import BATCH, TransferFailed, import_file

T = TypeVar("T")
import_app = typer.Typer(help="Import customers from a file.", no_args_is_help=True)
export_app = typer.Typer(help="Export customers to a file.", no_args_is_help=True)

# Exit status of a run that could not start or go on (a file, org, till or header); a run
# that reached the end of its file exits 0, refused lines included.
CANNOT_RUN = 2


def _run(work: Callable[[Database], Awaitable[T]]) -> T:
    settings = Settings()

    async def main() -> T:
        check_file(settings)
        db = create_database(settings)
        try:
            await db.start()
            await check_schema(db, settings)
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except TransferFailed as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(CANNOT_RUN) from None
    except SchemaNotReady as exc:
        fail(str(exc))
    except PatronError as exc:
        fail(exc.message)


@import_app.command("customers")
def import_customers(
    file: Annotated[Path, typer.Argument(help="A .jsonl or .csv file (docs/import.md).")],
    org: Annotated[int, typer.Option("--org", help="Org id.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl or csv (default: by the file's extension).")
    ] = None,
    no_events: Annotated[
        bool,
        typer.Option(
            "--no-events",
            help="Raise no customerAdded/customerUpdated events (no webhooks) for the imported customers.",
        ),
    ] = False,
    batch_size: Annotated[int, typer.Option(help="Lines per transaction.", min=1, max=10_000)] = BATCH,
    limit: Annotated[int | None, typer.Option(help="Stop after this many lines.", min=0)] = None,
    till: Annotated[
        str | None, typer.Option(help="The till code the import is attributed to (default: the org's first).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Register the customers of a file through the API's rules, in batches; refused lines
    go to FILE.refused.jsonl. Running it again skips what is stored."""

    async def work(db: Database) -> dict[str, object]:
        summary = await import_file(
            db,
            sys.stderr if progress else None,
            org_id=org,
            path=file,
            fmt=fmt,
            events=not no_events,
            batch_size=batch_size,
            limit=limit,
            till_code=till,
        )
        if not as_json:
            typer.echo(summary.text())
        return summary.to_json()

    # The modules loaded so far stay for the run: out of the collector's way, as the
    # server's start-up does (full collections walked them over and over).
    gc.freeze()
    summary = _run(work)
    if as_json:
        typer.echo(json.dumps(summary))


@export_app.command("customers")
def export_customers_command(
    org: Annotated[int, typer.Option("--org", help="Org id.")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl (Get Customer's shape) or csv.")] = "jsonl",
    output: Annotated[Path | None, typer.Option("--output", help="Write to FILE (default: stdout).")] = None,
) -> None:
    """Stream an org's customers: jsonl as Get Customer answers, csv in the import's mapping."""

    async def work(db: Database) -> int:
        if output is None:
            return (await export_customers(db, sys.stdout, org_id=org, fmt=fmt)).customers
        try:
            out = output.open("w", newline="", encoding="utf-8")
        except OSError as exc:
            raise TransferFailed(f"cannot write {output}: {exc.strerror}") from None
        with out:
            return (await export_customers(db, out, org_id=org, fmt=fmt)).customers

    count = _run(work)
    typer.echo(f"exported {count:,} customers of org {org}", err=True)
