"""Customer images: Set Customer Image (seed 003) and the image bytes (ours); the embed of
Get Customer Image (`embed=CUSTOMERIMAGE` on Fetch Customer Details) is rendered here too.
The rules (formats, limits, what is stripped, versions, storage) are in engagement/images.py
and docs/engagement.md.

The upload is read here rather than through FastAPI's `UploadFile`, which would spool the
whole body to a temporary file before the route runs: the body is streamed through
python-multipart's parser and refused (413) as soon as it passes the org's limit, and only
the `file` part is kept, in memory.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import Field
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse, path_id
from patron.api.ratelimits import count_request, rate_limited
from patron.api.routing import LeanRoute
from patron.api.v2.schemas import ImageFile, Out, WarningItem, errors
from patron.api.writes import Write
from patron.context import RequestContext
from patron.engagement import images
from patron.engagement.image_store import ImageStore, open_store
from patron.errors import InvalidInput
from patron.security.ratelimit import GET_IMAGE, SET_IMAGE

router = APIRouter(prefix="/v2", tags=["customers"], route_class=LeanRoute)

FIELD = b"file"
# Room for the multipart framing (boundaries, part headers) and small fields beside `file`.
_FRAMING = 16 * 1024
EMBED = "CUSTOMERIMAGE"


async def image_store(request: Request) -> ImageStore:
    """The process's image store, opened from `PATRON_IMAGE_STORE` on first use."""
    state = request.app.state
    store: ImageStore | None = getattr(state, "image_store", None)
    if store is None:
        store = open_store(state.settings.image_store)
        state.image_store = store
    return store


Store = Annotated[ImageStore, Depends(image_store)]


class _Upload:
    """Collects the `file` part of a multipart body as python-multipart parses it."""

    __slots__ = ("chunks", "complete", "field", "files", "header", "headers", "limit", "size", "value")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0
        self.files = 0
        self.field = b""
        self.header = b""
        self.value = b""
        self.headers: dict[bytes, bytes] = {}
        self.complete = False

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self.headers, self.field = {}, b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self.header += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def _header_end(self) -> None:
        self.headers[self.header.lower()] = self.value
        self.header, self.value = b"", b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.field = params.get(b"name", b"")
        if self.field == FIELD:
            self.files += 1
            if self.files > 1:
                raise InvalidInput(2184, detail="Send one file, not several.")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.field != FIELD:
            return  # other fields are ignored; the whole body is bounded anyway
        self.size += end - start
        if self.size > self.limit:
            raise images.too_large(self.limit)
        self.chunks.append(data[start:end])

    def _end(self) -> None:
        self.complete = True


async def read_upload(request: Request, limit: int) -> bytes:
    """The bytes of the multipart field `file`; 413 as soon as the body passes the limit."""
    mime, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise InvalidInput(2184, detail="The request's Content-Type must be multipart/form-data.")
    ceiling = limit + _FRAMING
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > ceiling:
        raise images.too_large(limit)
    upload = _Upload(limit)
    try:
        parser = MultipartParser(boundary, upload.callbacks())  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidInput(2184, detail="The multipart boundary is not valid.") from exc
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > ceiling:
                raise images.too_large(limit)
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise InvalidInput(2184, detail="The multipart body is malformed.") from exc
    except ClientDisconnect as exc:
        raise InvalidInput(400, "Input is invalid. The client left before sending the whole body.") from exc
    if not upload.complete:
        raise InvalidInput(2184, detail="The multipart body ended before its closing boundary.")
    if not upload.files:
        raise InvalidInput(2184, detail="The body has no field named file.")
    return b"".join(upload.chunks)


# Rendering ----------------------------------------------------------------------------------


def file_json(v: images.ImageVersion) -> dict[str, Any]:
    image = v.image
    return {
        "acl": images.ACL,
        "fileHandle": image.file_handle,
        "lastModified": images.last_modified(image.created_at),
        "latestVersion": v.latest_version,
        "name": v.name,
        "namespace": images.NAMESPACE,
        "s3Token": image.storage_key,
        "version": image.version,
    }


def bytes_url(request: Request, customer_id: int, handle: str) -> str:
    return f"{request.base_url}v2/customers/{customer_id}/images/{handle}"


def embed_json(request: Request, versions: list[images.ImageVersion]) -> list[dict[str, Any]]:
    """Get Customer Image's `customerImage` (003:L3955-3973)."""
    out = []
    for v in versions:
        url = bytes_url(request, v.image.customer_id, v.image.file_handle)
        out.append(
            {
                "code": 200,
                "file": file_json(v),
                "filePath": url,
                "message": "Success",
                "secureFilePath": url,
                "status": "true",
            }
        )
    return out


def wants_image(embeds: tuple[str, ...]) -> bool:
    return EMBED in embeds


async def count_image_read(db: Db, ctx: RequestContext, embeds: tuple[str, ...]) -> None:
    """Get Customer Image is rate limited: a customer read counts only when it asks for it."""
    if wants_image(embeds):
        await count_request(db, ctx, GET_IMAGE)


class UploadedItem(Out):
    code: int
    file: ImageFile
    message: str
    status: str


class ImageUploaded(Out):
    """Set Customer Image (003:L3782-3802)."""

    data: list[UploadedItem]
    warnings: list[WarningItem]
    errors: list[WarningItem] = Field(default_factory=list)


def _uploaded(v: images.ImageVersion) -> dict[str, Any]:
    return {
        "data": [
            {"code": 200, "file": file_json(v), "message": "Successfully uploaded file", "status": "true"}
        ],
        "warnings": [],
        "errors": [],
    }


_MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The image: JPEG, PNG or WebP.",
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    "/customers/{userId}/setImage",
    summary="Set Customer Image",
    description="Upload the customer's profile image as the multipart/form-data field `file`: JPEG, "
    "PNG or WebP, at most the org's `imageMaxBytes` (5 MiB by default; 2180 and 413 past it, refused "
    "before the rest of the body is read), at most 40 megapixels (2183), one frame. The type is read "
    "from the bytes, never from the part's Content-Type or file name (2181: not one of the three; "
    "2182: not decodable as the type its bytes announce). The image is re-encoded without metadata "
    "(EXIF and GPS, XMP, text chunks; orientation applied; the ICC colour profile kept). Each upload "
    "is a new version of the customer's image; the answer is the seed's, `s3Token` being the storage "
    "key (not a secret). 2184 no `file` field or not multipart, 8015 unknown customer, 8069 merged. "
    "Rate limited (the seed): 1,000 requests per hour per org unless the org configures its own "
    "figure; past it a 429 with Retry-After.",
    response_model=ImageUploaded,
    responses=errors(400, 404, 408, 413),
    openapi_extra=_MULTIPART_BODY,
)
async def set_customer_image(
    userId: str,
    request: Request,
    write: Write,
    store: Store,
    ctx: Annotated[RequestContext, Depends(rate_limited(SET_IMAGE))],
) -> JSONResponse:
    customer_id = path_id(userId, 8015)
    raw = await read_upload(request, ctx.config.image_max_bytes)
    if write.draft is not None:
        # A multipart body's boundary is random per request, so a client's retry never
        # repeats the body byte for byte: an Idempotency-Key is matched on the file instead.
        write.draft.body = hashlib.sha256(b"multipart file\n" + raw)

    async def record(cmd: images.SetImage) -> JSONResponse:
        return await write(ctx, images.set_image, ctx, cmd, render=_uploaded)

    return await images.upload(store, ctx, customer_id, raw, record)


_IMAGE_CONTENT = {
    "content": {
        media: {"schema": {"type": "string", "format": "binary"}} for media in images.CONTENT_TYPES.values()
    },
    "description": "The image's bytes, exactly as stored.",
    "headers": {
        "ETag": {"description": "The SHA-256 of the bytes, quoted.", "schema": {"type": "string"}},
        "Cache-Control": {"description": "private, max-age=3600", "schema": {"type": "string"}},
        "X-Content-Type-Options": {"description": "nosniff", "schema": {"type": "string"}},
    },
}


@router.get(
    "/customers/{userId}/images/{fileHandle}",
    summary="Get customer image bytes",
    description="The bytes of one version of the customer's image, by the `fileHandle` the upload "
    "and `embed=CUSTOMERIMAGE` answer (whose `filePath` is this route). A handle of another customer "
    "or another org, or an unknown one, is 2185 (404) alike. A version never changes, so the ETag "
    "(its SHA-256) is stable and `If-None-Match` with it answers 304.",
    response_class=Response,
    responses={200: _IMAGE_CONTENT, 304: {"description": "Not modified: the ETag matches."}, **errors(404)},
)
async def get_customer_image_bytes(
    userId: str, fileHandle: str, request: Request, db: Db, ctx: Ctx, store: Store
) -> Response:
    customer_id = path_id(userId, 2185)
    found = await db.read(images.version_of, ctx, customer_id, fileHandle)
    etag = f'"{found.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "private, max-age=3600",
        # X-Content-Type-Options: nosniff is added to every answer by the edge (api/edge.py).
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    match = request.headers.get("if-none-match", "")
    if etag in (part.strip() for part in match.split(",")) or match.strip() == "*":
        return Response(status_code=304, headers=headers)
    data = await store.get(found.storage_key)
    if data is None:
        raise RuntimeError(f"the image store holds nothing under {found.storage_key}")
    return Response(content=data, media_type=found.content_type, headers=headers)
