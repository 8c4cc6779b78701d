"""A user's documents and their attachments (seed 004: Create User Document, Create Proof Of
Address (POA) Document, Get User Documents, Inquiry User Document(s), and the documents of
the identification-with-document operations).

A document is a `user_record` row of kind `document`: its plain fields in `data`, with the
list of its attachments (file id, name, extension, the type read from the bytes, size,
SHA-256, storage key, is_selfie). The bytes are never in the database: each attachment is
kept in the image store (`PATRON_IMAGE_STORE`, engagement/image_store.py) under a key of
its own, `userDocument/<org>/<user>/<random UUID>`, and served to the owning org only by
`GET /user/document/{user_id}/attachment/{file_id}`.

What an attachment must be: strict base64 (the seed's X44: the standard alphabet, padded,
nothing else), at most `MAX_FILE_BYTES` (5 MiB) once decoded, and its type read from its
first bytes, never from `file_extension`: JPEG, PNG or WebP (engagement/images.sniff), then
decoded whole and re-encoded without metadata by engagement/images.clean on the CPU pool (a
file that only starts like an image is refused; EXIF and GPS are dropped from ID photos), or
PDF (`%PDF-` and an `%%EOF` marker in its last KiB; a PDF is stored as sent, never parsed).
A request carries at most `MAX_REQUEST_FILES` attachments and `MAX_REQUEST_BYTES` (16 MiB)
decoded in all.

As images do: the bytes go to the store before the row is written; if the transaction
fails (or an idempotent replay answers without running it) they are deleted (`forget`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from patron.context import RequestContext
from patron.cpu import run_cpu
from patron.customers.domain import FieldChange
from patron.customers.history import record_changes
from patron.db.base import utcnow
from patron.db.sql import Q
from patron.db.uow import UnitOfWork
from patron.engagement import images
from patron.engagement.image_store import ImageStore
from patron.errors import NotFound, PatronError
from patron.users import codes
from patron.users import service as users
from patron.users.fields import FieldError, validate_object, validate_parts
from patron.users.lookups import USER_RECORD_KIND
from patron.users.records import INDEXED, UserRecord, UserRecords

log = logging.getLogger(__name__)

KIND = "document"
NAMESPACE = "userDocument"
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_REQUEST_FILES = 10
MAX_REQUEST_BYTES = 16 * 1024 * 1024
# The JSON body that can carry MAX_REQUEST_BYTES: base64 is 4/3 of the bytes, plus the rest.
MAX_BODY_BYTES = MAX_REQUEST_BYTES * 4 // 3 + 256 * 1024
MAX_DOCUMENTS_PER_USER = 1000

# info.entity: what a document proves (the history entity codes of seed-004-rules.md 2.10).
IDENTIFICATION = 25
ADDRESS = 15
# Document status (seed-004-rules.md 4.3): 1 created, 5 attached to an identification.
CREATED = 1
ATTACHED = 5
# attachment_status 2: every attachment stored (the only value the seed shows).
STORED = 2
PDF = "PDF"
CONTENT_TYPES = {**images.CONTENT_TYPES, PDF: "application/pdf"}
HISTORY_KIND = USER_RECORD_KIND
HISTORY_FIELD_TYPE = "UserRecord"
# The seed's history entity code of each record kind of this module (docs/users.md).
ENTITY = {"document": 26, "relationship": 23, "external_auth": 36}

_OF_KIND_SQL = (
    "SELECT record_id, kind, status, verification_status, is_primary, data, sealed, created_at, updated_at"
    " FROM user_record{indexed} WHERE org_id = :org_id AND customer_id = :customer_id AND kind = :kind"
    " ORDER BY record_id"
)
# The index (org_id, customer_id, kind), named for SQLite (records.py says why).
_OF_KIND = Q(sqlite=_OF_KIND_SQL.format(indexed=INDEXED), postgresql=_OF_KIND_SQL.format(indexed=""))
_BY_ID = Q(
    "SELECT customer_id, record_id, kind, status, verification_status, is_primary, data, sealed,"
    " created_at, updated_at FROM user_record WHERE org_id = :org_id AND record_id = :record_id"
    " AND kind = :kind"
)


def _record(r: Any, offset: int = 0) -> UserRecord:
    o = offset
    return UserRecord(
        r[o], r[o + 1], r[o + 2], r[o + 3], bool(r[o + 4]), dict(r[o + 5] or {}), r[o + 6], r[o + 7], r[o + 8]
    )


async def records_of(uow: UnitOfWork, org_id: int, customer_id: int, kind: str) -> list[UserRecord]:
    """A user's records of one kind (served by the index (org_id, customer_id, kind))."""
    rows = await uow.tx.all(_OF_KIND, org_id=org_id, customer_id=customer_id, kind=kind)
    return [_record(r) for r in rows]


async def record_user_change(
    uow: UnitOfWork,
    ctx: RequestContext,
    customer_id: int,
    rec_kind: str,
    record_id: int,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    now: datetime,
) -> None:
    """One change of a user record in the one change log (customer_change), as
    users/finance.py writes them: kind `USER_RECORD`, field_name `<record kind>:<record id>`
    (the kind gives the seed's entity code: ENTITY), field_type `UserRecord`, the record's
    plain fields before and after as JSON (null when created / deleted; no secret is ever
    in them: sealed values and file bytes are not plain fields)."""
    source, account = users.user_account(ctx)
    change = FieldChange(
        f"{rec_kind}:{record_id}",
        HISTORY_FIELD_TYPE,
        None if before is None else orjson.dumps(dict(before)).decode(),
        None if after is None else orjson.dumps(dict(after)).decode(),
        source,
        account,
    )
    await record_changes(uow, ctx, customer_id, HISTORY_KIND, [change], now)


# Attachments --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttachmentInput:
    file_name: str
    file_extension: str
    content: str  # base64, as sent
    is_selfie: bool = False


@dataclass(frozen=True, slots=True)
class CleanFile:
    """An attachment checked and ready to store."""

    file_name: str
    file_extension: str
    is_selfie: bool
    format: str
    content_type: str
    data: bytes
    sha256: str
    key: str


def _decode(text: str, where: str) -> bytes:
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise FieldError(where, "is not base64 (the standard alphabet, padded)") from None
    if not data:
        raise FieldError(where, "is empty")
    return data


def _is_pdf(data: bytes) -> bool:
    return data[:5] == b"%PDF-" and b"%%EOF" in data[-1024:]


def clean_file(org_id: int, user_id: int, a: AttachmentInput, where: str) -> CleanFile:
    """Decode, size, sniff and (an image) decode whole and re-encode one attachment: CPU-bound."""
    data = _decode(a.content, f"{where}.content")
    if len(data) > MAX_FILE_BYTES:
        raise PatronError(
            int(codes.TOO_LARGE.code),
            f"{where}.content: the file is {len(data)} bytes; at most {MAX_FILE_BYTES} are accepted.",
            status=413,
        )
    fmt = images.sniff(data)
    if fmt is not None:
        try:
            image = images.clean(data, MAX_FILE_BYTES)
        except PatronError as exc:
            raise FieldError(f"{where}.content", exc.message) from None
        data, content_type = image.data, image.content_type
    elif _is_pdf(data):
        fmt, content_type = PDF, CONTENT_TYPES[PDF]
    else:
        raise FieldError(f"{where}.content", "is not a JPEG, PNG, WebP or PDF file (read from its bytes)")
    key = f"{NAMESPACE}/{org_id}/{user_id}/{uuid.uuid4()}"
    return CleanFile(
        a.file_name,
        a.file_extension,
        a.is_selfie,
        fmt,
        content_type,
        data,
        hashlib.sha256(data).hexdigest(),
        key,
    )


def clean_files(
    org_id: int, user_id: int, groups: Sequence[Sequence[AttachmentInput]], path: str
) -> list[list[CleanFile]]:
    """Every attachment of a request (grouped by document), all or nothing: CPU-bound."""
    count = sum(len(g) for g in groups)
    if count > MAX_REQUEST_FILES:
        raise codes.invalid(f"{path or 'attachment'}: at most {MAX_REQUEST_FILES} attachments per request.")
    total = 0
    out: list[list[CleanFile]] = []
    for d, group in enumerate(groups):
        cleaned: list[CleanFile] = []
        for i, a in enumerate(group):
            where = f"{path}[{d}].attachment[{i}]" if path else f"attachment[{i}]"
            f = clean_file(org_id, user_id, a, where)
            total += len(f.data)
            if total > MAX_REQUEST_BYTES:
                raise PatronError(
                    int(codes.TOO_LARGE.code),
                    f"{path or 'attachment'}: the files hold more than {MAX_REQUEST_BYTES} bytes in all.",
                    status=413,
                )
            cleaned.append(f)
        out.append(cleaned)
    return out


_PLACEHOLDER = "AAAA"  # what the field check sees for `content`: the bytes are checked apart


def read_document(raw: Any, path: str) -> tuple[NewDocument, list[AttachmentInput]]:
    """One document of a request (`document_data`) checked by the seed's field table (every
    field named on failure, from `path`: "" for a request that is one document; `content`
    checked apart, strictly, when decoded)."""

    def at(name: str) -> str:
        return f"{path}.{name}" if path else name

    if not isinstance(raw, Mapping):
        raise FieldError(path or "body", "must be an object")
    attachments = raw.get("attachment")
    if not isinstance(attachments, list) or not attachments:
        raise FieldError(at("attachment"), "must be a non-empty array", missing=attachments in (None, ""))
    if raw.get("info") in (None, ""):
        raise FieldError(at("info"), "is required", missing=True)
    contents: list[str] = []
    shown: list[Any] = []
    for i, a in enumerate(attachments):
        if not isinstance(a, Mapping):
            raise FieldError(at(f"attachment[{i}]"), "must be an object")
        content = a.get("content")
        if content in (None, ""):
            raise FieldError(at(f"attachment[{i}].content"), "is required", missing=True)
        if not isinstance(content, str):
            raise FieldError(at(f"attachment[{i}].content"), "must be a base64 string")
        contents.append(content)
        shown.append({**a, "content": _PLACEHOLDER})
    sent = {**raw, "attachment": shown}
    if path:
        checked = validate_object("document_data", sent, method="POST", path=path)
    else:
        checked = validate_parts("document_data", sent, method="POST")
    info = checked.get("info") or {}
    kind = info.get("entity")
    doc_type = info["type"]
    if kind is None:
        kind = ADDRESS if doc_type == 7 else IDENTIFICATION
    if kind not in (IDENTIFICATION, ADDRESS):
        raise FieldError(
            at("info.entity"), f"must be {IDENTIFICATION} (identification) or {ADDRESS} (address)"
        )
    custom = checked.get("custom_field")
    if custom is not None and (not isinstance(custom, dict) or len(custom) > 50):
        raise FieldError(at("custom_field"), "must be an object of at most 50 fields")
    geo = checked.get("geo_coordinates")
    doc = NewDocument(
        entity=kind,
        entity_id=int(info.get("entity_id") or 0),
        type=doc_type,
        language=info.get("language"),
        subject=info["subject"],
        notes=info.get("notes"),
        first_name=info.get("first_name"),
        last_name=info.get("last_name"),
        geo_coordinates=None
        if geo is None
        else {k: geo.get(k) for k in ("latitude", "longitude", "position_description")},
        custom_field=None if custom is None else dict(custom),
        files=[],
    )
    inputs = [
        AttachmentInput(str(a["file_name"]), str(a["file_extension"]), contents[i], bool(a.get("is_selfie")))
        for i, a in enumerate(checked["attachment"])
    ]
    return doc, inputs


async def prepare_documents(
    ctx: RequestContext, user_id: int, raws: Any, path: str = "documents"
) -> list[NewDocument]:
    """The documents of a request, every field checked and every file decoded, sniffed and
    (an image) decoded whole on the CPU pool, all or nothing; nothing is stored yet."""
    if not isinstance(raws, list) or not raws:
        raise FieldError(path, "must be a non-empty array", missing=raws in (None, ""))
    read = [read_document(raw, f"{path}[{i}]") for i, raw in enumerate(raws)]
    files = await run_cpu(clean_files, ctx.org_id, user_id, [inputs for _, inputs in read], path)
    for (doc, _), cleaned in zip(read, files, strict=True):
        doc.files = cleaned
    return [doc for doc, _ in read]


async def prepare_document(ctx: RequestContext, user_id: int, raw: Any) -> NewDocument:
    """Create User Document's body (one `document_data`), checked as prepare_documents does."""
    doc, inputs = read_document(raw, "")
    doc.files = (await run_cpu(clean_files, ctx.org_id, user_id, [inputs], ""))[0]
    return doc


async def forget(store: ImageStore, keys: Sequence[str]) -> None:
    for key in keys:
        try:
            await store.delete(key)
        except Exception:  # an unreferenced object is harmless; its key is random
            log.warning("could not delete unreferenced document file %s", key, exc_info=True)


# Documents ----------------------------------------------------------------------------------


@dataclass(slots=True)
class NewDocument:
    """One document to create: its checked fields and its checked files."""

    entity: int
    entity_id: int
    type: int
    language: str | None
    subject: str
    notes: str | None
    first_name: str | None
    last_name: str | None
    geo_coordinates: dict[str, Any] | None
    custom_field: dict[str, Any] | None
    files: list[CleanFile]


@dataclass(slots=True)
class CreateDocument:
    user_id: int
    document: NewDocument
    source_id: str | None
    dry_run: bool = False
    # Set once the row is written: a replayed answer (Idempotency-Key) did not run the use
    # case, and its freshly stored bytes must then be deleted.
    recorded: bool = field(default=False)


@dataclass(frozen=True, slots=True)
class DocumentView:
    user_id: int
    record: UserRecord
    email_address: str | None
    user_first_name: str
    user_last_name: str


@dataclass(frozen=True, slots=True)
class UserDocuments:
    user: users.UserView
    documents: list[DocumentView]


def primary_email(user: users.UserView) -> str | None:
    chosen = next((e for e in user.emails if e.record.is_primary), user.emails[0] if user.emails else None)
    return None if chosen is None else str(chosen.record.data.get("address") or chosen.value)


async def put_files(store: ImageStore, files: Sequence[CleanFile]) -> None:
    """The bytes first (each under its own random key; a repeat overwrites the same key)."""
    for f in files:
        await store.put(f.key, f.data, f.content_type)


def _attachments(files: Sequence[CleanFile], ids: Sequence[int]) -> list[dict[str, Any]]:
    return [
        {
            "file_id": file_id,
            "file_name": f.file_name,
            "file_extension": f.file_extension,
            "content_type": f.content_type,
            "size": len(f.data),
            "sha256": f.sha256,
            "key": f.key,
            "is_selfie": f.is_selfie,
        }
        for f, file_id in zip(files, ids, strict=True)
    ]


async def add_documents(
    uow: UnitOfWork,
    ctx: RequestContext,
    user: users.UserView,
    docs: Sequence[NewDocument],
    *,
    source_id: str | None,
    status: int,
    now: datetime,
    dry_run: bool = False,
) -> list[DocumentView]:
    """Insert the rows of documents whose bytes are stored; history rows alongside."""
    repo = UserRecords(uow.tx)
    count = len(docs) + sum(len(d.files) for d in docs)
    ids = iter([0] * count if dry_run else await repo.new_ids(count))
    email = primary_email(user)
    records: list[UserRecord] = []
    for d in docs:
        record_id = next(ids)
        file_ids = [next(ids) for _ in d.files]
        data: dict[str, Any] = {
            "entity": d.entity,
            "entity_id": d.entity_id,
            "type": d.type,
            "language": d.language,
            "subject": d.subject,
            "notes": d.notes,
            "first_name": d.first_name,
            "last_name": d.last_name,
            "source_id": source_id,
            "geo_coordinates": d.geo_coordinates,
            # As ordered pairs: JSONB keeps no key order.
            "custom_field": None if d.custom_field is None else [[k, v] for k, v in d.custom_field.items()],
            "attachments": _attachments(d.files, file_ids),
        }
        records.append(UserRecord(record_id, KIND, status, 0, False, data, None, now, now))
    if not dry_run:
        existing = await records_of(uow, ctx.org_id, user.user_id, KIND)
        if len(existing) + len(records) > MAX_DOCUMENTS_PER_USER:
            raise codes.invalid(f"A user holds at most {MAX_DOCUMENTS_PER_USER} documents.")
        await repo.insert(ctx.org_id, user.user_id, records, ctx.actor.till_id)
        for rec in records:
            await record_user_change(
                uow,
                ctx,
                user.user_id,
                KIND,
                rec.record_id,
                None,
                {"id": rec.record_id, **history_data(rec.data)},
                now,
            )
    return [DocumentView(user.user_id, r, email, user.first_name, user.last_name) for r in records]


def history_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """A document's fields as the change log keeps them: no storage keys."""
    out = {k: v for k, v in data.items() if k != "attachments"}
    out["attachments"] = [
        {k: a.get(k) for k in ("file_id", "file_name", "file_extension", "content_type", "size", "is_selfie")}
        for a in data.get("attachments", [])
    ]
    return out


async def _user(uow: UnitOfWork, ctx: RequestContext, user_id: int) -> users.UserView:
    core = await uow.customers.core(ctx.org_id, user_id, lock=True)
    if core is None or core.merged_into_id is not None:
        raise codes.not_found(user_id)
    return await users.read_user(uow, ctx, user_id)


async def create_document(uow: UnitOfWork, ctx: RequestContext, cmd: CreateDocument) -> DocumentView:
    """Create User Document / Create Proof Of Address (POA) Document: the files are stored;
    hold the user, resolve what the document proves and write its row."""
    user = await _user(uow, ctx, cmd.user_id)
    doc = cmd.document
    if doc.entity == ADDRESS:
        address = user.single("address")
        doc.entity_id = address.record_id if address is not None else 0
    elif doc.entity_id:
        await identification_of(uow, ctx, cmd.user_id, doc.entity_id, "info.entity_id")
    views = await add_documents(
        uow, ctx, user, [doc], source_id=cmd.source_id, status=CREATED, now=utcnow(), dry_run=cmd.dry_run
    )
    cmd.recorded = not cmd.dry_run
    return views[0]


IDENTIFICATION_KIND = "identification"


async def identification_of(
    uow: UnitOfWork, ctx: RequestContext, user_id: int, record_id: int, where: str
) -> None:
    row = await uow.tx.one(_BY_ID, org_id=ctx.org_id, record_id=record_id, kind=IDENTIFICATION_KIND)
    if row is None or row[0] != user_id:
        raise NotFound(
            int(codes.NOT_FOUND.code), f"{where}: no identification {record_id} of user {user_id}."
        )


async def _read_user(uow: UnitOfWork, ctx: RequestContext, user_id: int) -> users.UserView:
    return await users.read_user(uow, ctx, user_id)


async def user_documents(uow: UnitOfWork, ctx: RequestContext, user_id: int) -> UserDocuments:
    """Get User Documents: the user and every document of theirs, oldest first."""
    user = await _read_user(uow, ctx, user_id)
    email = primary_email(user)
    rows = await records_of(uow, ctx.org_id, user_id, KIND)
    return UserDocuments(
        user, [DocumentView(user_id, r, email, user.first_name, user.last_name) for r in rows]
    )


async def document_keys(uow: UnitOfWork, org_id: int, customer_id: int) -> list[str]:
    """The storage keys of every attachment of the user's documents (for the erasure pass,
    customers/erasure.py, which deletes them from the store after its commit)."""
    return [
        a["key"]
        for rec in await records_of(uow, org_id, customer_id, KIND)
        for a in rec.data.get("attachments", [])
    ]


@dataclass(frozen=True, slots=True)
class StoredFile:
    key: str
    content_type: str
    sha256: str
    size: int


async def attachment_of(uow: UnitOfWork, ctx: RequestContext, user_id: int, file_id: int) -> StoredFile:
    """The stored file an attachment id names, of this user in the caller's org; anything
    else (another org's or user's file, an unknown id) is the same 3005."""
    for rec in await records_of(uow, ctx.org_id, user_id, KIND):
        for a in rec.data.get("attachments", []):
            if a.get("file_id") == file_id:
                return StoredFile(a["key"], a["content_type"], a["sha256"], a["size"])
    raise NotFound(int(codes.NOT_FOUND.code), f"No attachment {file_id} of user {user_id} in this program.")


# Inquiry ------------------------------------------------------------------------------------

SORTS = ("document_id", "date", "update_date", "type", "status")


@dataclass(frozen=True, slots=True)
class DocumentInquiry:
    user_id: int | None
    document_id: int | None
    start_index: int  # 1-based
    page_size: int
    sort_by: str
    descending: bool
    from_date: datetime | None
    to_date: datetime | None  # exclusive: the day after the given to_date
    status: int | None
    search_term: str | None
    original_source_id: str | None


@dataclass(frozen=True, slots=True)
class InquiryPage:
    total: int
    documents: list[DocumentView]


async def inquire(uow: UnitOfWork, ctx: RequestContext, q: DocumentInquiry) -> InquiryPage:
    """Inquiry User Document(s): a user's documents (index (org_id, customer_id, kind)) or one
    document by id (the primary key), filtered, sorted and paged."""
    if q.user_id is not None:
        user = await _read_user(uow, ctx, q.user_id)
        rows = [(user, r) for r in await records_of(uow, ctx.org_id, q.user_id, KIND)]
        if q.document_id is not None:
            rows = [(u, r) for u, r in rows if r.record_id == q.document_id]
    else:
        assert q.document_id is not None
        row = await uow.tx.one(_BY_ID, org_id=ctx.org_id, record_id=q.document_id, kind=KIND)
        if row is None:
            rows = []
        else:
            owner = await _read_user(uow, ctx, row[0])
            rows = [(owner, _record(row, 1))]
    kept = [(u, r) for u, r in rows if _matches(q, r)]
    kept.sort(key=lambda ur: _sort_key(q.sort_by, ur[1]), reverse=q.descending)
    page = kept[q.start_index - 1 : q.start_index - 1 + q.page_size]
    return InquiryPage(
        len(kept),
        [DocumentView(u.user_id, r, primary_email(u), u.first_name, u.last_name) for u, r in page],
    )


def _matches(q: DocumentInquiry, r: UserRecord) -> bool:
    if q.from_date is not None and r.created_at < q.from_date:
        return False
    if q.to_date is not None and r.created_at >= q.to_date:
        return False
    if q.status is not None and r.status != q.status:
        return False
    if q.original_source_id is not None and r.data.get("source_id") != q.original_source_id:
        return False
    if q.search_term:
        term = q.search_term.casefold()
        text = " ".join(str(r.data.get(k) or "") for k in ("subject", "notes", "first_name", "last_name"))
        names = " ".join(str(a.get("file_name") or "") for a in r.data.get("attachments", []))
        if term not in f"{text} {names}".casefold():
            return False
    return True


def _sort_key(sort_by: str, r: UserRecord) -> tuple[Any, int]:
    if sort_by == "date":
        return (r.created_at, r.record_id)
    if sort_by == "update_date":
        return (r.updated_at, r.record_id)
    if sort_by == "type":
        return (int(r.data.get("type") or 0), r.record_id)
    if sort_by == "status":
        return (r.status, r.record_id)
    return (r.record_id, 0)


# Identification with documents ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdentificationWithDocuments:
    """The identification change (users/finance.py's answer) and the documents attached."""

    changed: Any  # finance.Changed
    documents: list[DocumentView]


def file_keys(documents: Sequence[NewDocument]) -> list[str]:
    return [f.key for d in documents for f in d.files]


async def identification_with_documents(
    uow: UnitOfWork,
    ctx: RequestContext,
    user_id: int,
    identification_items: Sequence[Mapping[str, Any]],
    documents: Sequence[NewDocument],
    *,
    method: str,
    box: Any,
    store: ImageStore,
    now: datetime | None = None,
    source_id: str | None = None,
) -> IdentificationWithDocuments:
    """Add / Update Identification With Document (and their Selfie forms): create or update
    the identification through users/finance.py (numbers sealed there; `identification_items`
    as finance.check_items returns them for `method`), then attach the
    documents to it (entity 25, entity_id the identification's record id, status 5). The
    documents come from `prepare_documents` (their files checked off the loop); their bytes
    are put in the store here when not yet there (a repeat overwrites the same keys), before
    the rows. The caller deletes `file_keys(documents)` if the unit of work fails."""
    from patron.users import finance  # W3's module; imported here to keep the modules apart

    if method not in ("POST", "PUT"):
        raise codes.invalid(f"identification with documents is POST or PUT, not {method}.")
    changed = await finance.change_records(
        uow,
        ctx,
        finance.RecordChange(
            user_id,
            "identification",
            method,  # type: ignore[arg-type]
            tuple(dict(item) for item in identification_items),
            box,
            source_id,
        ),
    )
    idents = changed.records
    for d, doc in enumerate(documents):
        if doc.entity != IDENTIFICATION:
            raise FieldError(f"documents[{d}].info.entity", f"must be {IDENTIFICATION} (identification)")
        # documents[i] proves identification[i]; extra documents prove the last one named.
        doc.entity_id = idents[min(d, len(idents) - 1)].record_id
    for doc in documents:
        await put_files(store, doc.files)
    views = await add_documents(
        uow, ctx, changed.user, documents, source_id=source_id, status=ATTACHED, now=now or utcnow()
    )
    return IdentificationWithDocuments(changed, views)
