"""The processes a benchmark run starts (Patron servers, the bare app, PostgreSQL, CLI jobs).

Every one is registered with a `Processes` stack and stopped when the stack closes, in
reverse order, whether the run ends normally, fails or is interrupted. Servers run in a
session of their own (so a Ctrl-C reaches only bench/run.py, which then stops them in
order) and, on Linux, receive SIGTERM if bench/run.py dies without cleaning up.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / ".venv" / "bin"
PATRON = BIN / "patron"

_PR_SET_PDEATHSIG = 1


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child before exec: get SIGTERM when the parent dies (Linux only)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Server:
    """An HTTP server process started by the benchmark."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self) -> str:
        return _tail(self.log)


@dataclass
class Processes:
    """Starts processes and stops every one of them on close (a context manager)."""

    workdir: Path
    _cleanups: list[tuple[str, Callable[[], None]]] = field(default_factory=list)

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        while self._cleanups:
            name, cleanup = self._cleanups.pop()
            try:
                cleanup()
            except Exception as exc:  # keep cleaning up the others
                print(f"warning: could not stop {name}: {exc}", file=sys.stderr)

    # Plain processes -------------------------------------------------------------------

    def spawn(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], log: Path
    ) -> subprocess.Popen[bytes]:
        """Start a process in its own session, output to `log`; it is stopped on close."""
        with log.open("ab") as out:
            process = subprocess.Popen(
                list(argv),
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self._cleanups.append((name, lambda: terminate(process)))
        return process

    # HTTP servers ----------------------------------------------------------------------

    def start_server(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        port: int,
        ready_path: str,
        timeout: float = 120.0,
    ) -> Server:
        log = self.workdir / f"{name}.log"
        process = self.spawn(name, argv, env, log)
        server = Server(name, process, port, log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchError(f"{name} exited with status {process.returncode}:\n{server.log_tail()}")
            try:
                with urllib.request.urlopen(server.base_url + ready_path, timeout=2) as response:
                    if response.status == 200:
                        return server
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise BenchError(f"{name} did not answer {ready_path} within {timeout:.0f} s:\n{server.log_tail()}")

    def start_patron(self, name: str, database_url: str, workers: int | None = None) -> Server:
        """`patron run` as `make run` serves it (API processes: PATRON_WORKERS, by default
        Patron's own choice; the delivery worker in a child process), with every answer
        carrying `x-patron-statements`."""
        port = free_port()
        env = self.patron_env(database_url) | {
            "PATRON_HOST": "127.0.0.1",
            "PATRON_PORT": str(port),
            "PATRON_STATEMENT_HEADER": "true",
        }
        if workers is not None:
            env["PATRON_WORKERS"] = str(workers)
        return self.start_server(name, [str(PATRON), "run", "--port", str(port)], env, port, "/health")

    def start_bare(self, processes: int) -> Server:
        """The bare app, served by uvicorn with `processes` processes (one: no supervisor)."""
        port = free_port()
        argv = [
            str(BIN / "uvicorn"),
            "bare_app:app",
            "--app-dir",
            str(REPO / "bench"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(processes),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        return self.start_server(f"bare-x{processes}", argv, dict(os.environ), port, "/ping")

    def stop_server(self, server: Server) -> None:
        terminate(server.process)

    # PostgreSQL ------------------------------------------------------------------------

    def start_postgres(self, durable: bool = True) -> tuple[str, Path, Callable[[], None]]:
        """Start a throwaway PostgreSQL server as the tests do, but durable by default (fsync,
        synchronous commit and full-page writes on, as SQLite keeps synchronous=FULL); return
        its URL, its folder and a stop function (calling it early is fine: the stop on close
        then does nothing)."""
        if str(REPO) not in sys.path:
            sys.path.insert(0, str(REPO))
        from tests import pg

        server = pg.start(durable=durable)
        stopped = False

        def stop() -> None:
            nonlocal stopped
            if not stopped:
                stopped = True
                server.stop()

        self._cleanups.append(("postgresql", stop))
        return server.url, server.root, stop

    def analyze_postgres(self, database_url: str) -> None:
        """Run ANALYZE, as autovacuum does on a database that has been running: a brand-new
        one has no statistics yet, and plans cached then can stay poor for its first minute."""

        async def analyze() -> None:
            conn = await asyncpg.connect(database_url.replace("+asyncpg", "", 1))
            try:
                await conn.execute("ANALYZE")
            finally:
                await conn.close()

        asyncio.run(analyze())

    def add_cleanup(self, name: str, cleanup: Callable[[], None]) -> None:
        self._cleanups.append((name, cleanup))

    # The patron command ----------------------------------------------------------------

    def patron_env(self, database_url: str) -> dict[str, str]:
        """The environment of a `patron` process: its database; its files in the workdir."""
        env = dict(os.environ)
        env["PATRON_DATABASE_URL"] = database_url
        env["PATRON_SECRET_KEY_FILE"] = str(self.workdir / "secret.key")
        return env

    def patron_cli(self, args: Sequence[str], database_url: str, timeout: float = 300.0) -> str:
        """Run a short `patron` command (in the workdir) and return its standard output."""
        result = subprocess.run(
            [str(PATRON), *args],
            env=self.patron_env(database_url),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise BenchError(
                f"patron {' '.join(args)} failed ({result.returncode}):\n{result.stderr.strip()}"
            )
        return result.stdout

    def create_org(self, database_url: str, name: str, config: Path | None = None) -> Credentials:
        """Migrate, then create an org (with the configuration file `config`, if given)."""
        self.patron_cli(["migrate"], database_url)  # other commands do not migrate
        args = ["org", "create", name, "--json"] + (["--config", str(config)] if config else [])
        return parse_credentials(self.patron_cli(args, database_url))

    def create_till(self, database_url: str, org_id: int) -> Credentials:
        self.patron_cli(["migrate"], database_url)  # a saved snapshot may predate a migration
        args = ["till", "create", "--org", str(org_id), "--json"]
        return parse_credentials(self.patron_cli(args, database_url))


def terminate(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the process's group, then SIGKILL it if it has not exited after `grace` s."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass(frozen=True)
class Credentials:
    org_id: int
    username: str
    password: str

    def basic_auth(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Basic {token}"


def parse_credentials(output: str) -> Credentials:
    document: Any = json.loads(output)
    return Credentials(int(document["orgId"]), str(document["username"]), str(document["password"]))


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
