"""Message senders: one small interface, `send(message)`, and two implementations.

- `FileSender` appends each message as one JSON line to a file (development and tests):
  `channel` ("email" or "sms"), `to`, `orgId`, `userId`, `purpose`, `code`, `link` (links
  only), `subject`, `text`, `messageId`, `createdAt`. The file is the only place a code is
  written in clear; it is meant for a developer's machine and the tests.
- `SmtpSender` sends email through an SMTP server (aiosmtplib): `smtp://user:pass@host:587`
  upgrades with STARTTLS when the server offers it, `smtps://host:465` is TLS from the start.

SMS needs a gateway Patron does not ship yet: with SMTP configured, SMS messages still go to
the messages file, and `patron run` says so at start (`describe`).
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

from patron.config import Settings


@dataclass(frozen=True, slots=True)
class Message:
    message_id: int
    org_id: int
    user_id: int
    channel: str  # "email" | "sms"
    to: str
    purpose: str
    code: str | None
    link: str | None
    created_at: str

    @property
    def subject(self) -> str:
        return SUBJECTS.get(self.purpose, "Your code")

    @property
    def text(self) -> str:
        lines = []
        if self.code:
            lines.append(f"Your code is {self.code}. It expires in 10 minutes.")
        if self.link:
            lines.append(f"Open this link to confirm: {self.link}")
        lines.append("If you did not ask for this, ignore this message.")
        return "\n".join(lines)


SUBJECTS = {
    "verify_email": "Confirm your email address",
    "verify_email_link": "Confirm your email address",
    "verify_phone": "Confirm your phone number",
    "forget_password": "Reset your password",
}


class SendError(Exception):
    """The message could not be handed over; the outbox tries again."""


class Sender(Protocol):
    async def send(self, message: Message) -> None: ...

    async def close(self) -> None: ...


class FileSender:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    async def send(self, message: Message) -> None:
        record = {
            "channel": message.channel,
            "to": message.to,
            "orgId": message.org_id,
            "userId": message.user_id,
            "purpose": message.purpose,
            "code": message.code,
            "link": message.link,
            "subject": message.subject,
            "text": message.text,
            "messageId": message.message_id,
            "createdAt": message.created_at,
        }
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        async with self._lock:
            try:
                await asyncio.to_thread(self._append, line)
            except OSError as exc:
                raise SendError(f"cannot write the messages file: {exc.strerror}") from None

    async def close(self) -> None:
        return None


class SmtpSender:
    def __init__(self, url: str, sender: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("PATRON_SMTP_URL must be smtp://[user:password@]host[:port] or smtps://...")
        self.host = parts.hostname
        self.tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.tls else 587)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    async def send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail.set_content(message.text)
        try:
            await aiosmtplib.send(
                mail,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.tls,
                start_tls=None if not self.tls else False,
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP {self.host}:{self.port}: {type(exc).__name__}") from None

    async def close(self) -> None:
        return None


class RoutingSender:
    """Email through one sender, SMS through another."""

    def __init__(self, email: Sender, sms: Sender) -> None:
        self.email = email
        self.sms = sms

    async def send(self, message: Message) -> None:
        await (self.email if message.channel == "email" else self.sms).send(message)

    async def close(self) -> None:
        await self.email.close()
        await self.sms.close()


def kind_of(settings: Settings) -> str:
    return settings.message_sender or ("smtp" if settings.smtp_url else "file")


def sender_from(settings: Settings) -> Sender:
    files = FileSender(settings.messages_file)
    if kind_of(settings) == "file":
        return files
    if not settings.smtp_url:
        raise ValueError("PATRON_MESSAGE_SENDER=smtp needs PATRON_SMTP_URL")
    return RoutingSender(SmtpSender(settings.smtp_url, settings.smtp_from), files)


def describe(settings: Settings) -> str:
    """One line for the start of `patron run`: where codes and links go."""
    if kind_of(settings) == "file":
        return (
            f"messages: one-time codes and links are written to {settings.messages_file}"
            " (file sender; set PATRON_SMTP_URL to send email)"
        )
    host = urlsplit(settings.smtp_url or "").hostname
    return f"messages: email through SMTP at {host}; SMS (no gateway yet) to {settings.messages_file}"
