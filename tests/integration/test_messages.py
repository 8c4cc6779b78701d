"""The message senders against real receivers (a file, an SMTP server on loopback) and the
message outbox on a database of its own with no worker running, so each pass is the test's."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import tempfile
from collections.abc import AsyncIterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message as EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from patron.config import Settings
from patron.db.base import utcnow
from patron.db.engine import Database, create_database
from patron.db.migrate import upgrade
from patron.db.sql import Q
from patron.db.uow import UnitOfWork
from patron.messages.outbox import enqueue, send_due
from patron.messages.sender import (
    FileSender,
    Message,
    RoutingSender,
    SendError,
    SmtpSender,
    describe,
    sender_from,
)
from patron.webhooks.secrets import SecretBox
from tests.ports import free_port


def message(**changes: Any) -> Message:
    base: dict[str, Any] = {
        "message_id": 7,
        "org_id": 1,
        "user_id": 42,
        "channel": "email",
        "to": "ada@example.com",
        "purpose": "verify_email",
        "code": "123456",
        "link": None,
        "created_at": "2026-12-02T10:00:00+00:00",
    }
    return Message(**{**base, **changes})


class Inbox:
    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Any:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, auth_require_tls=False)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def test_the_file_sender_writes_one_json_line_per_message(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "messages.jsonl"
    sender = FileSender(path)
    await asyncio.gather(
        sender.send(message()), sender.send(message(message_id=8, channel="sms", to="+1555"))
    )
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(lines) == 2
    first = next(m for m in lines if m["messageId"] == 7)
    assert {k: first[k] for k in ("channel", "to", "userId", "orgId", "purpose", "code", "link")} == {
        "channel": "email",
        "to": "ada@example.com",
        "userId": 42,
        "orgId": 1,
        "purpose": "verify_email",
        "code": "123456",
        "link": None,
    }
    assert "123456" in first["text"] and first["subject"] == "Confirm your email address"
    assert oct(path.stat().st_mode & 0o777) == "0o600"


async def test_the_smtp_sender_hands_the_mail_to_a_real_server(smtp_server: Any) -> None:
    inbox, port = smtp_server
    sender = SmtpSender(f"smtp://127.0.0.1:{port}", "Patron <no-reply@patron.test>")
    link = "http://patron.test/user/security/verify_link?token=1.2.abc"
    await sender.send(message(purpose="verify_email_link", code=None, link=link))
    (mail,) = inbox.mails
    assert mail["To"] == "ada@example.com" and mail["From"] == "Patron <no-reply@patron.test>"
    assert mail["Subject"] == "Confirm your email address"
    assert link in mail.get_payload(decode=True).decode()


async def test_the_smtp_sender_reports_a_server_that_is_not_there() -> None:
    sender = SmtpSender(f"smtp://127.0.0.1:{free_port()}", "x@y.z", timeout=2)
    with pytest.raises(SendError, match=r"SMTP 127\.0\.0\.1"):
        await sender.send(message())


def test_the_sender_follows_the_settings(tmp_path: Path) -> None:
    files = Settings(messages_file=tmp_path / "m.jsonl")
    assert isinstance(sender_from(files), FileSender)
    assert "m.jsonl" in describe(files) and "PATRON_SMTP_URL" in describe(files)
    smtp = Settings(smtp_url="smtp://user:pw@mail.example:2525", messages_file=tmp_path / "m.jsonl")
    routed = sender_from(smtp)
    assert isinstance(routed, RoutingSender) and isinstance(routed.email, SmtpSender)
    assert routed.email.port == 2525 and routed.email.username == "user"
    assert "mail.example" in describe(smtp) and "pw" not in describe(smtp)
    with pytest.raises(ValueError, match="PATRON_SMTP_URL"):
        sender_from(Settings(message_sender="smtp"))
    with pytest.raises(ValueError, match="smtp://"):
        SmtpSender("http://mail.example", "x@y.z")


class Flaky:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[Message] = []

    async def send(self, message: Message) -> None:
        if self.failures:
            self.failures -= 1
            raise SendError("gateway down")
        self.sent.append(message)

    async def close(self) -> None:
        return None


@pytest.fixture
async def lone_db() -> AsyncIterator[Database]:
    """A SQLite database of its own, with no worker: the test runs every pass."""
    path = Path(tempfile.mkdtemp(prefix="patron-messages-")) / "m.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url)
    db = create_database(Settings(database_url=url))
    await db.start()
    try:
        yield db
    finally:
        await db.dispose()


_ROWS = Q("SELECT message_id, attempts, last_error, sealed FROM message_outbox WHERE org_id = :org_id")


async def test_the_outbox_keeps_a_message_sealed_until_it_is_sent_and_retries(lone_db: Database) -> None:
    box = SecretBox(os.urandom(32))

    async def owe(uow: UnitOfWork, minutes: int) -> int:
        return await enqueue(
            uow,
            box,
            org_id=5,
            customer_id=9,
            channel="sms",
            to="+15550100",
            purpose="verify_phone",
            code="654321",
            link=None,
            expires_at=utcnow() + timedelta(minutes=minutes),
        )

    async def rows(uow: UnitOfWork) -> list[Any]:
        return list(await uow.tx.all(_ROWS, org_id=5))

    async def failing(uow: UnitOfWork) -> None:
        await owe(uow, 10)
        raise RuntimeError("the request failed after owing the message")

    with pytest.raises(RuntimeError):
        await lone_db.write(failing)
    assert await lone_db.read(rows) == []  # a failed request owes nothing

    kept = await lone_db.write(owe, 10)
    (row,) = await lone_db.read(rows)
    assert "654321" not in row[3] and "+15550100" not in row[3]  # sealed at rest
    assert "654321" not in base64.b64decode(row[3][3:]).decode("latin-1")

    flaky = Flaky(failures=1)
    assert await send_due(lone_db, box, flaky) == 0
    (row,) = await lone_db.read(rows)
    assert (row[0], row[1], row[2]) == (kept, 1, "gateway down")
    assert await send_due(lone_db, box, flaky) == 0  # not due yet: it waits its delay
    assert await send_due(lone_db, box, flaky, utcnow() + timedelta(seconds=3)) == 1
    assert [(m.code, m.to, m.channel, m.user_id) for m in flaky.sent] == [("654321", "+15550100", "sms", 9)]
    assert await lone_db.read(rows) == []  # gone once sent: no code outlives its sending

    await lone_db.write(owe, 0)  # expired before any pass: dropped, never sent
    assert await send_due(lone_db, box, flaky) == 0
    assert await lone_db.read(rows) == [] and len(flaky.sent) == 1


async def test_a_worker_that_died_mid_send_sends_again_after_the_lease(lone_db: Database) -> None:
    box = SecretBox(os.urandom(32))

    async def owe(uow: UnitOfWork) -> int:
        return await enqueue(
            uow,
            box,
            org_id=6,
            customer_id=3,
            channel="email",
            to="a@b.example",
            purpose="forget_password",
            code="111222",
            link=None,
            expires_at=utcnow() + timedelta(minutes=10),
        )

    await lone_db.write(owe)

    class Dies:
        async def send(self, message: Message) -> None:
            raise asyncio.CancelledError  # the process ends while the message is in flight

        async def close(self) -> None:
            return None

    with pytest.raises(asyncio.CancelledError):
        await send_due(lone_db, box, Dies())
    again = Flaky(failures=0)
    assert await send_due(lone_db, box, again) == 0  # still leased
    assert await send_due(lone_db, box, again, utcnow() + timedelta(seconds=61)) == 1
    assert [m.code for m in again.sent] == ["111222"]
