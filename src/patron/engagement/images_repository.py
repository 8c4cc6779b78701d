"""The customer image statements: one `customer_image` row per uploaded version. Writers
hold the customer row first (the use case reads it with `lock=True`), so two uploads for
one customer number their versions one after the other."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from patron.db.sql import Q
from patron.db.tx import Row, Table, Tx

IMAGE = Table(
    "customer_image",
    (
        ("org_id", "bigint"),
        ("customer_id", "bigint"),
        ("version", "integer"),
        ("file_handle", "text"),
        ("storage_key", "text"),
        ("content_type", "text"),
        ("byte_size", "integer"),
        ("sha256", "text"),
        ("width", "integer"),
        ("height", "integer"),
        ("created_at", "timestamptz"),
        ("created_by_till_id", "bigint"),
    ),
)
_COLUMNS = "customer_id, version, file_handle, storage_key, content_type, byte_size, sha256, created_at"
_LAST_VERSION = Q(
    "SELECT MAX(version) FROM customer_image WHERE org_id = :org_id AND customer_id = :customer_id"
)
_LATEST = Q(
    f"SELECT {_COLUMNS} FROM customer_image WHERE org_id = :org_id AND customer_id = :customer_id"
    " ORDER BY version DESC LIMIT 1"
)
_KEYS = Q("SELECT storage_key FROM customer_image WHERE org_id = :org_id AND customer_id = :customer_id")
_BY_HANDLE = Q(
    f"SELECT {_COLUMNS} FROM customer_image"
    " WHERE org_id = :org_id AND file_handle = :file_handle AND customer_id = :customer_id"
)


@dataclass(frozen=True, slots=True)
class StoredImage:
    """One version of a customer's image as the database knows it."""

    customer_id: int
    version: int
    file_handle: str
    storage_key: str
    content_type: str
    byte_size: int
    sha256: str
    created_at: datetime


def _stored(r: Row) -> StoredImage:
    return StoredImage(int(r[0]), int(r[1]), r[2], r[3], r[4], int(r[5]), r[6], r[7])


class ImageRepository:
    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def storage_keys(self, org_id: int, customer_id: int) -> list[str]:
        """Where every version of the customer's image is stored (for erasure)."""
        return [r[0] for r in await self.tx.all(_KEYS, org_id=org_id, customer_id=customer_id)]

    async def last_version(self, org_id: int, customer_id: int) -> int:
        """The customer's highest version (0 before the first upload)."""
        value = await self.tx.val(_LAST_VERSION, org_id=org_id, customer_id=customer_id)
        return int(value or 0)

    async def add(self, org_id: int, image: StoredImage, width: int, height: int, till_id: int) -> None:
        await self.tx.insert(
            IMAGE,
            [
                {
                    "org_id": org_id,
                    "customer_id": image.customer_id,
                    "version": image.version,
                    "file_handle": image.file_handle,
                    "storage_key": image.storage_key,
                    "content_type": image.content_type,
                    "byte_size": image.byte_size,
                    "sha256": image.sha256,
                    "width": width,
                    "height": height,
                    "created_at": image.created_at,
                    "created_by_till_id": till_id,
                }
            ],
        )

    async def latest(self, org_id: int, customer_id: int) -> StoredImage | None:
        row = await self.tx.one(_LATEST, org_id=org_id, customer_id=customer_id)
        return None if row is None else _stored(row)

    async def by_handle(self, org_id: int, customer_id: int, file_handle: str) -> StoredImage | None:
        row = await self.tx.one(_BY_HANDLE, org_id=org_id, customer_id=customer_id, file_handle=file_handle)
        return None if row is None else _stored(row)
