"""The `patron` command: migrate, run, org, till, config, demo, loyalty."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from patron import metrics
from patron.cli.database import run_with_database
from patron.cli.supervise import DeliveryWorker
from patron.config import Settings
from patron.db.engine import Database
from patron.db.migrate import upgrade
from patron.errors import PatronError
from patron.logs import configure_logging, uvicorn_log_config
from patron.messages.sender import describe
from patron.orgs import service as orgs
from patron.orgs.config import OrgConfig
from patron.security.apikeys import ApiKeys
from patron.security.keys import load_master_key

app = typer.Typer(help="Patron: one record per customer across every channel.", no_args_is_help=True)
org_app = typer.Typer(help="Create orgs.", no_args_is_help=True)
till_app = typer.Typer(help="Create tills (API users) of an org.", no_args_is_help=True)
config_app = typer.Typer(help="Read or replace an org's configuration.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(till_app, name="till")
app.add_typer(config_app, name="config")

# Seconds a stopping API process gives its requests in flight before it cancels them; the
# delivery worker stops alongside within its own bound (webhooks/worker.py), inside 30 s.
SHUTDOWN_SECONDS = 25
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _run_db(settings: Settings, work: Any) -> Any:
    """Run `work(db)` on a fresh engine of a migrated database; PatronErrors end the command.
    Only `migrate`, `run` and `worker` migrate (cli/database.py)."""
    return run_with_database(settings, work)


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


@app.callback()
def _logging() -> None:
    """Every command logs JSON lines on stderr (patron.logs), alembic's and uvicorn's too."""
    configure_logging(Settings().log_level)


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
    workers: Annotated[
        int | None,
        typer.Option(
            help="API processes (PATRON_WORKERS; default: 1 on SQLite, one per core on PostgreSQL)."
        ),
    ] = None,
) -> None:
    """Migrate the database, then serve the API and deliver webhooks in a process of its own.

    SIGTERM stops it gracefully: the delivery worker is told at once and finishes the
    deliveries it has in flight; the API stops accepting connections, finishes the requests
    in flight (at most `SHUTDOWN_SECONDS`), commits and closes; then this process waits for
    the worker and exits 0.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    settings = Settings()
    upgrade(settings.database_url)
    typer.echo(describe(settings))
    # Until uvicorn takes SIGTERM over, and when it raises it again after its graceful stop,
    # SIGTERM ends the serving below by this exception, so the worker is still waited for
    # and the exit status is 0.
    signal.signal(signal.SIGTERM, _stopped)
    # Every process started here (the API processes, the delivery worker) records its metrics
    # in one directory, which /metrics adds up (metrics.py).
    metrics.prepare_directory(os.environ)
    worker = DeliveryWorker() if settings.worker_enabled else None
    if worker is not None:
        worker.start()  # and started again should it die (cli/supervise.py)
    # The API processes serve; delivery has its own process (above).
    os.environ["PATRON_WORKER_ENABLED"] = "false"

    def stop_worker() -> None:
        if worker is not None:
            worker.signal_stop()

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            stop_worker()  # both stop at once, so the whole stop fits the budget
            super().handle_exit(sig, frame)

    class Supervisor(Multiprocess):
        def handle_term(self) -> None:
            stop_worker()
            super().handle_term()

        def handle_int(self) -> None:
            stop_worker()
            super().handle_int()

    config = uvicorn.Config(
        "patron.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.api_processes,
        access_log=False,
        server_header=False,
        log_level=settings.log_level.lower(),
        log_config=uvicorn_log_config(settings.log_level),
        loop="uvloop",
        http="patron.api.server:PatronHttpProtocol",  # httptools, with bounds
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
    )
    try:
        if config.workers > 1:
            Supervisor(config, sockets=[config.bind_socket()]).run()
        else:
            config.load_app()
            server = Server(config)
            server.run()
            if not server.started:
                raise typer.Exit(3)  # uvicorn's status for a failed startup (a port in use ...)
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM does not cut this short
        if worker is not None:
            # Past the bound its leases lapse and another worker sends what it held.
            worker.stop(timeout=SHUTDOWN_SECONDS)


class _Stopped(Exception):
    """SIGTERM reached `patron run` outside uvicorn's own handling of it."""


def _stopped(sig: int, frame: FrameType | None) -> None:
    raise _Stopped


@org_app.command("create")
def org_create(
    name: str,
    config: Annotated[Path | None, typer.Option("--config", help="Configuration JSON file.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an org and its first till; prints the till's credentials once."""
    settings = Settings()
    org_config = _read_config(config) if config else None

    async def work(db: Database) -> orgs.TillCredentials:
        keys = ApiKeys(load_master_key(settings))
        return await db.write(orgs.create_org, keys, name=name, config=org_config)

    _print_credentials(_run_db(settings, work), as_json)


@till_app.command("create")
def till_create(
    org: Annotated[int, typer.Option("--org", help="Org id.")],
    code: Annotated[str | None, typer.Option(help="Till code (default: till<N>).")] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    role: Annotated[
        str, typer.Option(help="till (the API only) or operator (the API and the console).")
    ] = orgs.TILL,
    as_json: JsonFlag = False,
) -> None:
    """Add a till (API user) to an org; prints its credentials once."""
    if role not in orgs.ROLES:
        _fail(f"--role is one of {', '.join(orgs.ROLES)}")

    settings = Settings()

    async def work(db: Database) -> orgs.TillCredentials:
        keys = ApiKeys(load_master_key(settings))
        return await db.write(orgs.create_till, keys, org_id=org, code=code, name=name, role=role)

    _print_credentials(_run_db(settings, work), as_json)


OrgOption = Annotated[int, typer.Option("--org", help="Org id.")]
UsernameOption = Annotated[
    str, typer.Option("--username", help="The till's username (code@orgId) or its code.")
]


@till_app.command("revoke")
def till_revoke(org: OrgOption, username: UsernameOption, as_json: JsonFlag = False) -> None:
    """Deactivate a till: its next request is refused by every API process, and its console
    sessions end."""

    async def work(db: Database) -> orgs.TillChange:
        return await db.write(orgs.revoke_till, org, username)

    _print_till_change(_run_db(Settings(), work), as_json)


@till_app.command("role")
def till_role(
    org: OrgOption,
    username: UsernameOption,
    role: Annotated[str, typer.Option(help="till (the API only) or operator (the API and the console).")],
    as_json: JsonFlag = False,
) -> None:
    """Change a till's role; it holds from the till's next request in every process."""
    if role not in orgs.ROLES:
        _fail(f"--role is one of {', '.join(orgs.ROLES)}")

    async def work(db: Database) -> orgs.TillChange:
        return await db.write(orgs.set_till_role, org, username, role)

    _print_till_change(_run_db(Settings(), work), as_json)


def _print_till_change(change: orgs.TillChange, as_json: bool) -> None:
    if as_json:
        summary = {
            "orgId": change.org_id,
            "username": change.username,
            "active": change.is_active,
            "role": change.role,
            "changed": change.changed,
        }
        typer.echo(json.dumps(summary))
        return
    state = "active" if change.is_active else "revoked"
    note = "" if change.changed else " (unchanged)"
    typer.echo(f"till {change.username}: {state}, role {change.role}{note}")


def _print_credentials(creds: orgs.TillCredentials, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps({"orgId": creds.org_id, "username": creds.username, "password": creds.password})
        )
        return
    typer.echo(f"org id:   {creds.org_id}\nusername: {creds.username}\npassword: {creds.password}")
    typer.echo("The password is shown once; Patron keeps only a keyed digest of it.", err=True)


@config_app.command("get")
def config_get(org: Annotated[int, typer.Option("--org", help="Org id.")]) -> None:
    """Print an org's configuration document."""

    async def work(db: Database) -> OrgConfig:
        return await db.read(orgs.get_config, org)

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

    async def work(db: Database) -> None:
        await db.write(orgs.replace_config, org, new)

    _run_db(Settings(), work)
    typer.echo("configuration replaced (running servers apply it on their next request)")


from patron.cli import backup, demo, loyalty, transfer, webhooks  # noqa: E402  (the command groups of their own modules)

app.add_typer(demo.app, name="demo")
app.add_typer(loyalty.app, name="loyalty")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(webhooks.events_app, name="events")
app.add_typer(transfer.import_app, name="import")
app.add_typer(transfer.export_app, name="export")
app.command("worker", help="Deliver webhooks until SIGTERM (several on PostgreSQL share the work).")(
    webhooks.run_worker
)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
