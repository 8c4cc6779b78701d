"""Documents and their attachments, identifications with documents, relationships and external
logins (seed 004; users/documents.py and users/relations.py). Paths at the service root as
operations.tsv spells them; answers in the user envelope (api/user/envelope.py) or the
seed's document and inquiry families."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated, Any, ClassVar, TypeVar

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from patron.api.deps import Box, Ctx, Db
from patron.api.http import JSONResponse
from patron.api.routing import LeanRoute
from patron.api.user.envelope import USER_KEYS, UserHeaders, envelope, headers_for, respond
from patron.api.user.parts import DOCUMENT_KEYS, document_entry
from patron.api.user.parts import external_item as _external
from patron.api.user.parts import relationship_item as _relationship
from patron.api.user.schemas import Result, UserAnswer, user_errors
from patron.api.user.users import _path_user, user_parts
from patron.api.v2.images import Store
from patron.api.writes import Write
from patron.context import RequestContext
from patron.db.engine import Database
from patron.errors import PatronError
from patron.users import codes
from patron.users import documents as docs
from patron.users import relations as rel
from patron.users import service as users
from patron.users.fields import FieldError, validate_object

router = APIRouter(tags=["users"], route_class=LeanRoute)
T = TypeVar("T")

_HEADERS_DOC = (
    " Configuration headers as every user route: `lang`, `source_id`, `time_zone`, "
    "`show_sensitive_data`, `show_custom_field` (0 leaves custom_field null)."
)

INQUIRY_DOCUMENT_KEYS: tuple[str, ...] = (
    "result",
    "result_set",
    "documents",
    "archive",
    "notes",
    "last_activity",
    "authentication",
    "validate",
    "function_code",
    "time_zone",
    "time_zone_name",
    "response_time",
)
_ANY = (Any, None)


def _model(name: str, keys: tuple[str, ...], doc: str) -> type[BaseModel]:
    fields: dict[str, Any] = {("validate_" if k == "validate" else k): _ANY for k in keys}
    fields["result"] = (Result, ...)
    fields["validate_"] = (str | None, Field(default=None, alias="validate"))
    model: type[BaseModel] = create_model(name, __doc__=doc, **fields)
    return model


DocumentAnswer = _model("DocumentAnswer", DOCUMENT_KEYS, "A document envelope (004:L4097-4241).")
DocumentInquiryAnswer = _model(
    "DocumentInquiryAnswer", INQUIRY_DOCUMENT_KEYS, "Inquiry User Document(s)' answer (004:L29435-29621)."
)


async def read_large_json(request: Request, limit: int = docs.MAX_BODY_BYTES) -> Any:
    """A JSON body that may carry base64 files: up to `limit` bytes (413 past it, refused on
    the declared length before reading), gathered without quadratic copying."""
    import orjson
    from starlette.requests import ClientDisconnect

    declared = request.headers.get("content-length")
    too_large = PatronError(
        int(codes.TOO_LARGE.code), f"Request body is larger than {limit} bytes.", status=413
    )
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise too_large
    except ClientDisconnect as exc:
        raise codes.invalid("The client left before sending the whole body.") from exc
    if not body.strip():
        raise codes.invalid("The request body is empty; send a JSON object.")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise codes.invalid(f"The body is not valid JSON: {exc}.") from exc
    if not isinstance(document, dict):
        raise codes.invalid("The body must be a JSON object.")
    if _holds_nul(document):
        raise codes.invalid("The body holds the NUL character (U+0000).")
    return document


def _holds_nul(node: Any) -> bool:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def validate_flag(value: Any) -> bool:
    """`validate`: "1"/1 validate only (nothing written), "0"/0/absent write."""
    if value in (None, "", 0, "0"):
        return False
    if value in (1, "1") and not isinstance(value, bool):
        return True
    raise FieldError("validate", "must be 0 or 1")


async def _read(db: Database, fn: Callable[..., Awaitable[T]], ctx: RequestContext, *args: Any) -> T:
    """A read; when the user's emails or phones still lack their rows (added through v2), the
    same read in a writable unit of work that adds them (as Get User does)."""
    try:
        return await db.read(fn, ctx, *args)
    except users.NeedsRows:
        return await db.write(fn, ctx, *args)


def _info(h: UserHeaders, ctx: Any, user: users.UserView) -> dict[str, Any]:
    info: dict[str, Any] = user_parts(h, ctx, user)["info"]
    return info


# Documents ----------------------------------------------------------------------------------


_DOCUMENT_EXAMPLE: dict[str, Any] = {
    "info": {
        "first_name": "M.",
        "last_name": "Collier",
        "entity": 25,
        "entity_id": 0,
        "type": 2,
        "language": "en",
        "subject": "Identification",
        "notes": "Test",
    },
    "attachment": [
        {
            "file_name": "Passport Copy",
            "file_extension": ".png",
            "content": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
            "nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==",
        }
    ],
    "geo_coordinates": {"latitude": "31.969848", "longitude": "35.864097", "position_description": "Office"},
    "custom_field": {"custom notes": "png document"},
    "validate": "0",
}


class DocumentBody(BaseModel):
    """Create User Document's body (the seed's document_data, 004:L2044-2110): read up to
    users/documents.py's MAX_BODY_BYTES, as its base64 files need, and checked field by field
    by the seed's tables (users/fields.py)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_DOCUMENT_EXAMPLE]})
    max_body_bytes: ClassVar[int] = docs.MAX_BODY_BYTES

    info: dict[str, Any] | None = Field(
        default=None,
        description="type 2 / entity 25: an identification document (entity_id an identification of "
        "the user, or 0); type 7 / entity 15: proof of address (entity_id set to the user's address).",
    )
    attachment: list[dict[str, Any]] | None = Field(
        default=None,
        description="The files: file_name, file_extension, content (base64), is_selfie.",
    )
    geo_coordinates: dict[str, Any] | None = None
    custom_field: dict[str, Any] | None = None
    notes: Any = None
    authentication: Any = None
    last_activity: Any = None
    validate_: str | int | None = Field(default=None, alias="validate")


@router.post(
    "/user/document/{user_id}",
    summary="Create User Document",
    description="Create a document of the user with its attachments (seed 004's Create User Document "
    "and Create Proof Of Address (POA) Document, one route dispatching on the body): `info.type` 2 / "
    "`info.entity` 25 is an identification document (`entity_id` an identification of the user, or 0), "
    "`info.type` 7 / `info.entity` 15 a proof of address (`entity_id` set to the user's address record). "
    "Each attachment's `content` is strict base64 of at most 5 MiB (5,242,880 bytes) once decoded; at "
    f"most {docs.MAX_REQUEST_FILES} attachments and 16 MiB of files in one request (413 past either, "
    "3010). The type is read from the bytes, never from the name: JPEG, PNG or WebP (decoded whole and "
    "re-encoded without metadata) or PDF; anything else 3001. The files are kept in the image store and "
    "served by GET /user/document/{user_id}/attachment/{file_id} (`file_url`); `content` answers "
    '"____". `validate` "1" checks everything and stores nothing (document_id 0).' + _HEADERS_DOC,
    response_model=DocumentAnswer,
    responses=user_errors(400, 404, 408, 413),
    openapi_extra={
        "x-seed-operations": ["Create User Document", "Create Proof Of Address (POA) Document"],
    },
)
async def create_user_document(
    request: Request,
    user_id: str,
    body: Annotated[DocumentBody, Body()],
    write: Write,
    ctx: Ctx,
    store: Store,
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    raw = body.model_dump(by_alias=True, exclude_unset=True)
    dry = validate_flag(body.validate_)
    doc = await docs.prepare_document(ctx, uid, raw)
    cmd = docs.CreateDocument(uid, doc, h.source_id, dry_run=dry)
    keys = [] if dry else [f.key for f in doc.files]
    flag = "1" if dry else "0"
    if not dry:
        await docs.put_files(store, doc.files)
    try:
        answer = await write(
            ctx,
            docs.create_document,
            ctx,
            cmd,
            render=lambda v: document_entry(
                h,
                ctx,
                v,
                nested=False,
                client_date=v.record.data.get("entity") == docs.ADDRESS,
                validate=flag,
            ),
        )
    except BaseException:
        await docs.forget(store, keys)
        raise
    if not cmd.recorded:
        await docs.forget(store, keys)
    return answer


@router.get(
    "/user/document/{user_id}",
    summary="Get User Documents",
    description="Every document of the user, oldest first, in the user envelope's `documents` (each a "
    'document envelope; attachment `content` "____", the bytes at `file_url`).' + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_user_documents(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    found = await _read(db, docs.user_documents, ctx, uid)
    parts = {
        "info": _info(h, ctx, found.user),
        "documents": [document_entry(h, ctx, v, nested=True, client_date=False) for v in found.documents],
    }
    return respond(h, parts)


@router.get(
    "/user/document/{user_id}/attachment/{file_id}",
    summary="Get user document attachment bytes",
    description="The bytes of one attachment of a user's document, by the `file_id` the document "
    "answers give (`file_url`). Another org's or another user's file, or an unknown id, is the same "
    "3005 (404). Content-Type is the type read from the bytes at upload; the answer is private to the "
    "caller (Cache-Control private) and never sniffed or run by a browser (nosniff, a sandboxing CSP).",
    response_class=Response,
    responses={
        200: {
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}} for t in docs.CONTENT_TYPES.values()
            },
            "description": "The file's bytes, exactly as stored.",
        },
        **user_errors(400, 404),
    },
)
async def get_user_document_attachment(
    user_id: str, file_id: str, db: Db, ctx: Ctx, store: Store
) -> Response:
    uid = _path_user(user_id)
    if not (file_id.isascii() and file_id.isdigit()) or len(file_id) > 18:
        raise codes.not_found(uid)
    found = await db.read(docs.attachment_of, ctx, uid, int(file_id))
    data = await store.get(found.key)
    if data is None:
        raise RuntimeError(f"the image store holds nothing under {found.key}")
    headers = {
        "ETag": f'"{found.sha256}"',
        "Cache-Control": "private, max-age=3600",
        # X-Content-Type-Options: nosniff is added to every answer by the edge (api/edge.py).
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return Response(content=data, media_type=found.content_type, headers=headers)


# Inquiry ------------------------------------------------------------------------------------

_UNSUPPORTED = (
    "terminal_id",
    "terminal_user_id",
    "account_id",
    "user_name",
    "archive",
    "transaction_id",
    "order_id",
)
MAX_PAGE = 100


def _day(value: str | None, zone: timedelta, name: str) -> datetime | None:
    if value is None:
        return None
    text = value.replace("/", "-")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise FieldError(name, "is not a date (yyyy-mm-dd)") from None
    return datetime(day.year, day.month, day.day, tzinfo=timezone(zone)).astimezone(UTC)


@router.get(
    "/user/inquiry_document",
    summary="Inquiry User Document(s)",
    description="Documents by the seed's document_inquiry parameters: `user_id` (the user's documents, "
    "served by the user-record index) or `document_id` (one document by its key); one of the two is "
    "required (3002), so no inquiry scans an org's documents. Filters: `status`, `from_date`/`to_date` "
    "(yyyy-mm-dd or yyyy/mm/dd, inclusive, in the request's time zone, on the creation date), "
    "`search_term` (subject, notes, names, file names), `original_source_id`, `program_id` (the caller's "
    "org). `sort_by` document_id (default), date, update_date, type or status; `sort_flag` asc (default) "
    "or desc. `start_index` is 1-based (default 1), `page_size` 1-100 (default 10); `result_set."
    "total_records` counts every match. terminal_id, terminal_user_id, account_id, user_name, archive, "
    "transaction_id and order_id name nothing a document has here: 3001." + _HEADERS_DOC,
    response_model=DocumentInquiryAnswer,
    responses=user_errors(400, 404),
)
async def inquiry_user_documents(
    request: Request,
    db: Db,
    ctx: Ctx,
    start_index: str | None = None,
    page_size: str | None = None,
    sort_by: str | None = None,
    sort_flag: str | None = None,
    program_id: str | None = None,
    user_id: str | None = None,
    terminal_id: str | None = None,
    terminal_user_id: str | None = None,
    search_term: str | None = None,
    account_id: str | None = None,
    status: str | None = None,
    user_name: str | None = None,
    from_date: str | None = None,
    to_date: str | None = None,
    archive: str | None = None,
    transaction_id: str | None = None,
    order_id: str | None = None,
    original_source_id: str | None = None,
    document_id: str | None = None,
) -> JSONResponse:
    h = headers_for(request, ctx)
    given = {
        k: v
        for k, v in {
            "start_index": start_index,
            "page_size": page_size,
            "sort_by": sort_by,
            "sort_flag": sort_flag,
            "program_id": program_id,
            "user_id": user_id,
            "terminal_id": terminal_id,
            "terminal_user_id": terminal_user_id,
            "search_term": search_term,
            "account_id": account_id,
            "status": status,
            "user_name": user_name,
            "from_date": from_date,
            "to_date": to_date,
            "archive": archive,
            "transaction_id": transaction_id,
            "order_id": order_id,
            "original_source_id": original_source_id,
            "document_id": document_id,
        }.items()
        if v not in (None, "")
    }
    # The table's letters sit in its PUT column (seed-004-rules.md 2.9): read as optional.
    q = validate_object("document_inquiry", given, method="PUT", path="query")
    for name in _UNSUPPORTED:
        if name in given:
            raise FieldError(f"query.{name}", "is not a filter of documents on this server")
    if q.get("user_id") is None and q.get("document_id") is None:
        raise FieldError("query.user_id", "is required unless document_id is given", missing=True)
    if q.get("program_id") not in (None, ctx.org_id):
        raise FieldError("query.program_id", "must be the caller's program")
    start = q.get("start_index") or 1
    size = q.get("page_size") or 10
    if not 1 <= size <= MAX_PAGE:
        raise FieldError("query.page_size", f"must be 1 to {MAX_PAGE}")
    order = q.get("sort_by") or "document_id"
    if order not in docs.SORTS:
        raise FieldError("query.sort_by", f"must be one of {', '.join(docs.SORTS)}")
    begin = _day(q.get("from_date"), h.zone.offset, "query.from_date")
    end = _day(q.get("to_date"), h.zone.offset, "query.to_date")
    inquiry = docs.DocumentInquiry(
        user_id=q.get("user_id"),
        document_id=q.get("document_id"),
        start_index=max(1, start),
        page_size=size,
        sort_by=order,
        descending=(q.get("sort_flag") or "asc") == "desc",
        from_date=begin,
        to_date=None if end is None else end + timedelta(days=1),
        status=q.get("status"),
        search_term=q.get("search_term"),
        original_source_id=q.get("original_source_id"),
    )
    page = await _read(db, docs.inquire, ctx, inquiry)
    zone = timezone(h.zone.offset)
    result_set = {
        "from_date": None if begin is None else begin.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S"),
        "to_date": None if end is None else end.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S"),
        "start_index": inquiry.start_index,
        "page_size": size,
        "total_records": page.total,
        "time_zone_Name": h.zone.name,
        "time_zone": h.zone.label,
    }
    parts = {
        "result_set": result_set,
        "documents": [document_entry(h, ctx, v, nested=True, client_date=False) for v in page.documents],
    }
    return respond(h, parts, INQUIRY_DOCUMENT_KEYS)


# Identification with documents (W3's route calls these) ----------------------------------

# The four identification-with-document answers: the user keys with `credit_limit` after
# `currency` (004:L5027-5375).
_AT = USER_KEYS.index("currency") + 1
IDENTIFICATION_WITH_DOCUMENT_KEYS: tuple[str, ...] = (*USER_KEYS[:_AT], "credit_limit", *USER_KEYS[_AT:])


# Relationships ------------------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RelationshipBody(_In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "relationship": [
                        {
                            "on_entity": "7",
                            "on_entity_id": "88834",
                            "type": "3",
                            "status": 1,
                            "verification_status": 0,
                        }
                    ]
                }
            ]
        },
    )

    relationship: list[dict[str, Any]] | None = Field(default=None, max_length=rel.MAX_ITEMS)


class ExternalAuthBody(_In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"external_auth": [{"login_id": "1644722242300054", "type": 3, "status": 1}], "validate": "0"}
            ]
        },
    )

    external_auth: list[dict[str, Any]] | None = Field(default=None, max_length=rel.MAX_ITEMS)
    validate_: str | int | None = Field(default=None, alias="validate")


def _relationships(h: UserHeaders, ctx: Any, found: rel.Relationships) -> dict[str, Any]:
    parts = {
        "info": _info(h, ctx, found.user),
        "relationship": [_relationship(h, found.me, i) for i in found.items],
    }
    return envelope(h, parts)


_RELATIONSHIP_DOC = (
    " A relationship ties the user (entity 7) to `on_entity`/`on_entity_id`; when on_entity is 7 the "
    "other user must exist in this program (3005 otherwise). `type`, `status` and `verification_status` "
    "are small integers kept as given (their meanings are the program's). All items or none; every "
    "change is in Get User History (entity 23)."
)


async def _change_relationships(
    request: Request,
    user_id: str,
    body: RelationshipBody,
    write: Write,
    ctx: RequestContext,
    method: rel.Method,
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    items = rel.check_items("relationship", body.relationship, method)
    cmd = rel.ChangeRelationships(uid, method, tuple(items), h.source_id)
    return await write(ctx, rel.change_relationships, ctx, cmd, render=lambda r: _relationships(h, ctx, r))


@router.post(
    "/user/relationship/{user_id}",
    summary="Create User Relationship",
    description="Add relationships of the user: `on_entity`, `on_entity_id` and `type` required; one "
    "relationship per (on_entity, on_entity_id, type) (3009)." + _RELATIONSHIP_DOC + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 409, 413),
)
async def create_user_relationship(
    request: Request, user_id: str, body: Annotated[RelationshipBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    return await _change_relationships(request, user_id, body, write, ctx, "POST")


@router.put(
    "/user/relationship/{user_id}",
    summary="Update User Relationship",
    description="Change `type`, `status`, `verification_status` or `custom_field` of relationships of "
    "the user, named by `id`." + _RELATIONSHIP_DOC + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
)
async def update_user_relationship(
    request: Request, user_id: str, body: Annotated[RelationshipBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    return await _change_relationships(request, user_id, body, write, ctx, "PUT")


@router.delete(
    "/user/relationship/{user_id}",
    summary="Delete User Relationship",
    description="Remove relationships of the user, named by `id`; each answers its id with every other "
    "field null, as the seed does." + _RELATIONSHIP_DOC + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
)
async def delete_user_relationship(
    request: Request, user_id: str, body: Annotated[RelationshipBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    return await _change_relationships(request, user_id, body, write, ctx, "DELETE")


@router.get(
    "/user/relationship/{user_id}",
    summary="Get User Relationship",
    description="Every relationship of the user, oldest first." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_user_relationship(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    found = await _read(db, rel.relationships, ctx, uid)
    return JSONResponse(_relationships(h, ctx, found))


# External logins ----------------------------------------------------------------------------


def _externals(h: UserHeaders, ctx: Any, found: rel.ExternalLogins, validate: str | None) -> dict[str, Any]:
    parts = {
        "info": _info(h, ctx, found.user),
        "external_auth": [_external(h, i, found.dry_run) for i in found.items],
        "validate": validate,
    }
    return envelope(h, parts)


_EXTERNAL_DOC = (
    ' `validate` "1" runs every check and writes nothing (Add answers id 0 and no dates, as the seed '
    'does); "0" or absent writes. A `token` is sealed at rest and never answered. Every change is in '
    "Get User History (entity 36)."
)


async def _change_external(
    request: Request,
    user_id: str,
    body: ExternalAuthBody,
    write: Write,
    ctx: RequestContext,
    box: Any,
    method: rel.Method,
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    dry = validate_flag(body.validate_)
    items = rel.check_items("external_auth", body.external_auth, method)
    cmd = rel.ChangeExternalAuth(uid, method, tuple(items), box, dry, h.source_id)
    flag = "1" if dry else "0"
    return await write(ctx, rel.change_external_auth, ctx, cmd, render=lambda r: _externals(h, ctx, r, flag))


@router.post(
    "/user/external_auth/{user_id}",
    summary="Add User External Auth",
    description="Link external logins to the user: `login_id` (digits) and `type` required, `status` "
    "1 unless given; one (type, login_id) per program (3009)." + _EXTERNAL_DOC + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 409, 413),
)
async def add_user_external_auth(
    request: Request,
    user_id: str,
    body: Annotated[ExternalAuthBody, Body()],
    write: Write,
    ctx: Ctx,
    box: Box,
) -> JSONResponse:
    return await _change_external(request, user_id, body, write, ctx, box, "POST")


@router.put(
    "/user/external_auth/{user_id}",
    summary="Update User External Auth",
    description="Change `status`, `verification_status` or `token` of external logins of the user, named "
    "by `id`." + _EXTERNAL_DOC + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
)
async def update_user_external_auth(
    request: Request,
    user_id: str,
    body: Annotated[ExternalAuthBody, Body()],
    write: Write,
    ctx: Ctx,
    box: Box,
) -> JSONResponse:
    return await _change_external(request, user_id, body, write, ctx, box, "PUT")


@router.delete(
    "/user/external_auth/{user_id}",
    summary="Delete User External Auth",
    description="Unlink external logins of the user, named by `id`." + _EXTERNAL_DOC + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
)
async def delete_user_external_auth(
    request: Request,
    user_id: str,
    body: Annotated[ExternalAuthBody, Body()],
    write: Write,
    ctx: Ctx,
    box: Box,
) -> JSONResponse:
    return await _change_external(request, user_id, body, write, ctx, box, "DELETE")


@router.get(
    "/user/external_auth/{user_id}",
    summary="Get User External Auth",
    description="Every external login of the user, oldest first (tokens never answered)." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_user_external_auth(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    found = await _read(db, rel.external_logins, ctx, uid)
    return JSONResponse(_externals(h, ctx, found, None))
