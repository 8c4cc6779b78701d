"""The `patron` command: migrate, run, org, till, config, demo."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from patron.config import Settings
from patron.db.engine import create_database
from patron.db.migrate import upgrade
from patron.db.uow import unit_of_work
from patron.errors import PatronError
from patron.orgs import service as orgs
from patron.orgs.config import OrgConfig

app = typer.Typer(help="Patron: one record per customer across every channel.", no_args_is_help=True)
org_app = typer.Typer(help="Create orgs.", no_args_is_help=True)
till_app = typer.Typer(help="Create tills (API users) of an org.", no_args_is_help=True)
config_app = typer.Typer(help="Read or replace an org's configuration.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(till_app, name="till")
app.add_typer(config_app, name="config")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _run_db(settings: Settings, work: Any) -> Any:
    """Migrate, then run `work(db)` on a fresh engine; PatronErrors end the command."""
    upgrade(settings.database_url)

    async def main() -> Any:
        db = create_database(settings)
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except PatronError as exc:
        _fail(exc.message)


def _parse_config(document: Any) -> OrgConfig:
    try:
        return orgs.parse_config(document)
    except PatronError as exc:
        _fail(exc.message)
        raise  # unreachable: _fail exits


def _read_config(path: Path) -> OrgConfig:
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        _fail(f"cannot read {path}: {exc}")
    return _parse_config(document)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    settings = Settings()
    upgrade(settings.database_url)
    typer.echo("schema is up to date")


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Address to listen on (PATRON_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (PATRON_PORT).")] = None,
    workers: Annotated[int, typer.Option(help="API processes (PostgreSQL only).")] = 1,
) -> None:
    """Migrate the database and serve the API."""
    import uvicorn

    settings = Settings()
    upgrade(settings.database_url)
    if workers > 1 and settings.is_sqlite:
        _fail("SQLite has one writer: run one API process, or use PostgreSQL for more")
    uvicorn.run(
        "patron.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        access_log=False,
        log_level=settings.log_level.lower(),
        loop="uvloop",
        http="httptools",
    )


@org_app.command("create")
def org_create(
    name: str,
    config: Annotated[Path | None, typer.Option("--config", help="Configuration JSON file.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an org and its first till; prints the till's credentials once."""
    settings = Settings()
    org_config = _read_config(config) if config else None

    async def work(db: Any) -> orgs.TillCredentials:
        async with unit_of_work(db, write=True) as uow:
            return await orgs.create_org(uow, name=name, config=org_config)

    _print_credentials(_run_db(settings, work), as_json)


@till_app.command("create")
def till_create(
    org: Annotated[int, typer.Option("--org", help="Org id.")],
    code: Annotated[str | None, typer.Option(help="Till code (default: till<N>).")] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a till (API user) to an org; prints its credentials once."""

    async def work(db: Any) -> orgs.TillCredentials:
        async with unit_of_work(db, write=True) as uow:
            return await orgs.create_till(uow, org_id=org, code=code, name=name)

    _print_credentials(_run_db(Settings(), work), as_json)


def _print_credentials(creds: orgs.TillCredentials, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps({"orgId": creds.org_id, "username": creds.username, "password": creds.password})
        )
        return
    typer.echo(f"org id:   {creds.org_id}\nusername: {creds.username}\npassword: {creds.password}")
    typer.echo("The password is shown once; Patron keeps only its Argon2 hash.", err=True)


@config_app.command("get")
def config_get(org: Annotated[int, typer.Option("--org", help="Org id.")]) -> None:
    """Print an org's configuration document."""

    async def work(db: Any) -> OrgConfig:
        async with unit_of_work(db, write=False) as uow:
            return await orgs.get_config(uow, org)

    typer.echo(json.dumps(_run_db(Settings(), work).to_document(), indent=2))


@config_app.command("set")
def config_set(
    org: Annotated[int, typer.Option("--org", help="Org id.")],
    file: Annotated[Path, typer.Argument(help="Configuration JSON file ('-' for stdin).")],
) -> None:
    """Replace an org's configuration with a validated document."""
    if str(file) == "-":
        try:
            document = json.loads(sys.stdin.read())
        except json.JSONDecodeError as exc:
            _fail(f"stdin is not JSON: {exc}")
        new = _parse_config(document)
    else:
        new = _read_config(file)

    async def work(db: Any) -> None:
        async with unit_of_work(db, write=True) as uow:
            await orgs.replace_config(uow, org, new)

    _run_db(Settings(), work)
    typer.echo("configuration replaced (running servers apply it within a minute)")


from patron.cli import demo, webhooks  # noqa: E402  (the command groups of their own modules)

app.add_typer(demo.app, name="demo")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(webhooks.events_app, name="events")
app.command("worker", help="Deliver webhooks until SIGTERM (several on PostgreSQL share the work).")(
    webhooks.run_worker
)
