"""A throwaway PostgreSQL server for the test session, from the distribution's binaries.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
`postgres` system user (or `nobody`). Set PATRON_TEST_POSTGRES_URL to use a server of your own.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.ports import free_port


def _bindir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) are not installed: "
        "apt-get install postgresql, or set PATRON_TEST_POSTGRES_URL"
    )


def _demote() -> tuple[Callable[[], None] | None, int | None, int | None]:
    if os.geteuid() != 0:
        return None, None, None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        uid, gid = entry.pw_uid, entry.pw_gid

        def drop(uid: int = uid, gid: int = gid) -> None:
            os.setgid(gid)
            os.setuid(uid)

        return drop, uid, gid
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL as")


@dataclass
class PostgresServer:
    root: Path
    port: int
    bindir: Path
    preexec: Callable[[], None] | None

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://patron@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"],
            preexec_fn=self.preexec,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start(durable: bool = False) -> PostgresServer:
    """Start a server on a free port. By default it trades durability for speed (no fsync,
    asynchronous commit, no full-page writes), which the tests can afford; `durable=True`
    keeps PostgreSQL's own crash-safe defaults (the benchmark's setting)."""
    bindir = _bindir()
    preexec, uid, gid = _demote()
    root = Path(tempfile.mkdtemp(prefix="patron-pg-"))
    if uid is not None and gid is not None:
        os.chown(root, uid, gid)
    data = root / "data"
    subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "patron",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        preexec_fn=preexec,
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        preexec_fn=preexec,
        check=True,
        capture_output=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    return PostgresServer(root, port, bindir, preexec)
