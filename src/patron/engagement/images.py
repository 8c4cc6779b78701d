"""Customer images: the versions of a customer's profile image.

    upload(...)      POST /v2/customers/{userId}/setImage          Set Customer Image
    listing(...)     GET  /v2/customers/{userId}?embed=CUSTOMERIMAGE  Get Customer Image
    version_of(...)  GET  /v2/customers/{userId}/images/{fileHandle}  the bytes (ours)

What an upload must be: JPEG, PNG or WebP, at most the org's `imageMaxBytes` (5 MiB by
default), its type read from its first bytes (the magic numbers; the client's Content-Type
and file name are never consulted), and decodable, whole, as that type by Pillow, with at
most `MAX_PIXELS` pixels and a single frame. It is decoded once and re-encoded in the same
format from the decoded pixels, EXIF orientation applied, so what is stored carries no
metadata: no EXIF (GPS, camera, dates), no XMP, no PNG text chunks, no comments. The ICC
colour profile is kept: it is colour data, and dropping it would change the colours of
wide-gamut phone photos. JPEG keeps the source's quantisation tables and chroma
subsampling (the same quality); a lossless WebP stays lossless. Decoding and encoding run
on the bounded CPU pool (patron/cpu.py), off the event loop.

Each upload is a new version (1, 2, ...) of the customer's one image, named
`<orgId>/<customerId>/0` as the seed's sample names it at version 2 (003:L3790): the
trailing 0 is the image's slot, not its version. A version has its own `fileHandle` (a
random UUID from the operating system's CSPRNG: unguessable, never a path) and its own
storage key, `customerImage/<orgId>/<customerId>/<random UUID>`, which the seed's answer
shows as `s3Token` (003:L3792): it names the object in the image store and grants
nothing (the store is never exposed; the bytes are served only through the authenticated
route, by handle, within the caller's org).

The bytes go to the store before the row is written: the upload stores them, then runs
the transaction that holds the customer, numbers the version and inserts the row. If the
transaction fails (unknown or merged customer, a lost race) the stored bytes are deleted;
if the process dies between the two, the object stays in the store unreferenced: harmless
(no row names it, so nothing serves it; its key is random) and it can be removed by
comparing the store's keys with `customer_image.storage_key`. A row never exists without
its bytes.
"""

from __future__ import annotations

import hashlib
import io
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from PIL import Image, ImageOps, JpegImagePlugin

from patron.context import RequestContext
from patron.cpu import run_cpu
from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.engagement.image_store import ImageStore
from patron.engagement.images_repository import StoredImage
from patron.errors import InvalidInput, NotFound, PatronError

T = TypeVar("T")
log = logging.getLogger(__name__)

NAMESPACE = "customerImage"
ACL = "PRIVATE"
SLOT = 0  # a customer has one image; its versions share the name <org>/<customer>/0
# Pixels a decoded image may have: 40 megapixels (a 48 MP phone's full-size photo is
# refused, its usual 12 MP one is not); a decoded RGBA image of that size is 160 MB.
MAX_PIXELS = 40_000_000
# Pillow's own guard: it warns above this and refuses above twice this at open, before a
# single pixel is decoded; our check below refuses anything above MAX_PIXELS.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_LABELS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}


def sniff(data: bytes) -> str | None:
    """The format the first bytes announce (Pillow's name), or None: not one we take."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _webp_lossless(data: bytes) -> bool:
    """Whether a WebP's image chunk is VP8L (lossless) rather than VP8 (lossy)."""
    pos = 12
    while pos + 8 <= len(data):
        fourcc = data[pos : pos + 4]
        if fourcc in (b"VP8 ", b"VP8L"):
            return fourcc == b"VP8L"
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        pos += 8 + size + (size & 1)
    return False


@dataclass(frozen=True, slots=True)
class CleanImage:
    """An upload decoded and re-encoded without its metadata."""

    format: str
    content_type: str
    data: bytes
    width: int
    height: int
    sha256: str


def too_large(limit: int) -> PatronError:
    return PatronError(2180, x=limit, status=413)


def clean(data: bytes, max_bytes: int) -> CleanImage:
    """Check an upload is the image it claims to be and strip its metadata (CPU-bound)."""
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    fmt = sniff(data)
    if fmt is None:
        raise InvalidInput(2181)
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as img:
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise InvalidInput(2183, x=MAX_PIXELS)
            if getattr(img, "n_frames", 1) > 1:
                raise InvalidInput(2182, x=_LABELS[fmt], detail="Animated images are not accepted.")
            img.load()  # the one decode: a truncated or corrupt file fails here
            out = _encode(img, fmt, data)
    except PatronError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidInput(2183, x=MAX_PIXELS) from exc
    except Exception as exc:  # whatever a malformed file makes a decoder raise
        raise InvalidInput(2182, x=_LABELS[fmt]) from exc
    width, height = _size_of(out, fmt)
    return CleanImage(fmt, CONTENT_TYPES[fmt], out, width, height, hashlib.sha256(out).hexdigest())


def _size_of(data: bytes, fmt: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(data), formats=[fmt]) as img:
        return img.size


def _encode(img: Image.Image, fmt: str, source: bytes) -> bytes:
    """The decoded pixels in `fmt` again, orientation applied, with no metadata but the
    colour profile (and a PNG's transparency, which is pixel data)."""
    icc = img.info.get("icc_profile")
    transparency = img.info.get("transparency")
    options: dict[str, Any] = {}
    if fmt == "JPEG":
        assert isinstance(img, JpegImagePlugin.JpegImageFile)
        options["qtables"] = img.quantization
        sampling = JpegImagePlugin.get_sampling(img)
        if sampling >= 0:
            options["subsampling"] = sampling
    elif fmt == "WEBP":
        if _webp_lossless(source):
            options["lossless"] = True
        else:
            options["quality"] = 90
    ImageOps.exif_transpose(img, in_place=True)
    # Encoders read some keys from `info` when the call does not give them (PNG's text,
    # ICC and transparency): give them nothing but what is passed below.
    img.info = {}
    if icc:
        options["icc_profile"] = icc
    if fmt == "PNG" and transparency is not None:
        options["transparency"] = transparency
    out = io.BytesIO()
    img.save(out, format=fmt, **options)
    return out.getvalue()


# Use cases ----------------------------------------------------------------------------------


@dataclass(slots=True)
class SetImage:
    """Record a stored upload as the customer's next image version."""

    customer_id: int
    image: CleanImage
    file_handle: str
    storage_key: str
    # Set once the row is written: an idempotent replay answers from the stored answer
    # without running the use case, and its fresh bytes must then be deleted.
    recorded: bool = field(default=False)


@dataclass(frozen=True, slots=True)
class ImageVersion:
    """A version as the answers show it, with the customer's latest version number."""

    org_id: int
    image: StoredImage
    latest_version: int

    @property
    def name(self) -> str:
        return f"{self.org_id}/{self.image.customer_id}/{SLOT}"


def new_set_image(org_id: int, customer_id: int, image: CleanImage) -> SetImage:
    """A command with a fresh handle and storage key, both from the OS's CSPRNG."""
    key = f"{NAMESPACE}/{org_id}/{customer_id}/{uuid.uuid4()}"
    return SetImage(customer_id, image, str(uuid.uuid4()), key)


async def upload(
    store: ImageStore,
    ctx: RequestContext,
    customer_id: int,
    raw: bytes,
    record: Callable[[SetImage], Awaitable[T]],
) -> T:
    """Set Customer Image: clean the upload, store its bytes, then `record` the version
    (a unit of work running `set_image`); the bytes are deleted if that fails."""
    image = await run_cpu(clean, raw, ctx.config.image_max_bytes)
    cmd = new_set_image(ctx.org_id, customer_id, image)
    await store.put(cmd.storage_key, image.data, image.content_type)
    try:
        result = await record(cmd)
    except Exception:
        await _forget(store, cmd.storage_key)
        raise
    if not cmd.recorded:
        await _forget(store, cmd.storage_key)
    return result


async def _forget(store: ImageStore, key: str) -> None:
    try:
        await store.delete(key)
    except Exception:  # the answer stands; an unreferenced object is harmless
        log.warning("could not delete unreferenced image %s", key, exc_info=True)


async def set_image(uow: UnitOfWork, ctx: RequestContext, cmd: SetImage) -> ImageVersion:
    """Add the stored upload as the customer's next version."""
    core = await uow.customers.core(ctx.org_id, cmd.customer_id, lock=True)
    if core is None:
        raise NotFound(8015)
    if core.merged_into_id is not None:
        raise NotFound(8069, detail=f"Use customer id {core.merged_into_id}.")
    version = await uow.images.last_version(ctx.org_id, cmd.customer_id) + 1
    image = cmd.image
    stored = StoredImage(
        cmd.customer_id,
        version,
        cmd.file_handle,
        cmd.storage_key,
        image.content_type,
        len(image.data),
        image.sha256,
        utcnow(),
    )
    await uow.images.add(ctx.org_id, stored, image.width, image.height, ctx.actor.till_id)
    cmd.recorded = True
    return ImageVersion(ctx.org_id, stored, version)


async def listing(uow: UnitOfWork, ctx: RequestContext, customer_id: int) -> list[ImageVersion]:
    """embed=CUSTOMERIMAGE: the customer's image at its latest version (empty before the
    first upload); earlier versions stay readable by their handles."""
    latest = await uow.images.latest(ctx.org_id, customer_id)
    return [] if latest is None else [ImageVersion(ctx.org_id, latest, latest.version)]


def is_handle(text: str) -> bool:
    """Whether `text` is a handle as we make them: a UUID in its canonical lower-case form."""
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


async def version_of(uow: UnitOfWork, ctx: RequestContext, customer_id: int, handle: str) -> StoredImage:
    """The version a handle names, of this customer in the caller's org; anything else
    (another org's or customer's handle, an unknown one) is the same 2185."""
    if not is_handle(handle):
        raise NotFound(2185)
    found = await uow.images.by_handle(ctx.org_id, customer_id, handle)
    if found is None:
        raise NotFound(2185)
    return found


def last_modified(at: datetime) -> str:
    """The seed's `lastModified` ("2021-11-24 08:59:40", 003:L3789): UTC, to the second."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
