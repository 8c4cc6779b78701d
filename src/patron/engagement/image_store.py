"""Where customer images' bytes live: one small interface, two implementations.

    store = open_store(settings.image_store)
    await store.put(key, data, content_type)
    data = await store.get(key)        # None when nothing is stored under the key
    await store.delete(key)            # nothing stored under it: no error

Keys are made by Patron (engagement/images.py: `customerImage/<org>/<customer>/<uuid>`),
never by a client; a store still refuses any key that is not slash-separated segments of
letters, digits, `-` and `_`, so no key can climb out of its directory or bucket prefix.

`PATRON_IMAGE_STORE` chooses the implementation:

- a path, or a `file://` URL (default `var/images`): `FileImageStore`, one file per key
  under that directory, written to a temporary name and renamed into place, so a reader
  never sees half an image;
- `s3://bucket[/prefix]?endpoint=https://host:port&region=...`: `S3ImageStore`, objects in
  an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, Cloudflare R2, ...) through the MinIO
  client, whose blocking calls run on a worker thread. Credentials come from the standard
  AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optionally AWS_SESSION_TOKEN);
  `endpoint` defaults to AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, then AWS itself, and
  `region` to AWS_REGION / AWS_DEFAULT_REGION (a server that ignores regions needs none).
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

_KEY = re.compile(r"[A-Za-z0-9_-]{1,100}(/[A-Za-z0-9_-]{1,100}){0,9}")


class ImageStoreError(ValueError):
    """A store configuration or key that cannot be used."""


def checked_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ImageStoreError(f"not a storage key: {key!r}")
    return key


class ImageStore(Protocol):
    """Bytes by key. `put` replaces what a key held; `get` of an absent key is None."""

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> None: ...


class FileImageStore:
    """One file per key under a root directory."""

    __slots__ = ("root",)

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, key: str) -> Path:
        path = self.root.joinpath(*checked_key(key).split("/"))
        # The key's grammar already forbids "..", absolute parts and separators; this is
        # the belt to those braces.
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise ImageStoreError(f"not a storage key: {key!r}")
        return path

    def _put(self, key: str, data: bytes) -> None:
        path = self.path_of(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _get(self, key: str) -> bytes | None:
        try:
            return self.path_of(key).read_bytes()
        except FileNotFoundError:
            return None

    def _delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._put, key, data)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, key)


@dataclass(frozen=True, slots=True)
class S3Location:
    """An S3-compatible bucket as `PATRON_IMAGE_STORE` names it."""

    bucket: str
    prefix: str  # "" or ending in "/"
    host: str  # host[:port], as the MinIO client takes it
    secure: bool
    region: str | None

    def object_name(self, key: str) -> str:
        return self.prefix + checked_key(key)


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def parse_s3_url(url: str, env: Mapping[str, str]) -> S3Location:
    """Read `s3://bucket[/prefix]?endpoint=...&region=...`; ImageStoreError says what is wrong."""
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise ImageStoreError(f"an S3 image store URL starts with s3://, not {parts.scheme}://")
    if parts.username or parts.password:
        raise ImageStoreError(
            "put no credentials in the image store URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    bucket = parts.netloc
    if not _BUCKET.fullmatch(bucket):
        raise ImageStoreError(f"{bucket!r} is not an S3 bucket name (3-63 of a-z, 0-9, '.', '-')")
    prefix = unquote(parts.path).strip("/")
    if prefix:
        checked_key(prefix)
        prefix += "/"
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"endpoint", "region"}
    if unknown:
        raise ImageStoreError(f"unknown image store URL parameter(s): {', '.join(sorted(unknown))}")
    if any(len(values) > 1 for values in query.values()):
        raise ImageStoreError("an image store URL parameter is given twice")
    endpoint = (
        query.get("endpoint", [""])[0]
        or env.get("AWS_ENDPOINT_URL_S3", "")
        or env.get("AWS_ENDPOINT_URL", "")
        or "https://s3.amazonaws.com"
    )
    target = urlsplit(endpoint)
    if target.scheme not in ("http", "https") or not target.hostname:
        raise ImageStoreError(f"endpoint must be an http:// or https:// URL, not {endpoint!r}")
    if target.path not in ("", "/") or target.query or target.username:
        raise ImageStoreError(f"endpoint is a scheme, host and port only, not {endpoint!r}")
    region = query.get("region", [""])[0] or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    return S3Location(bucket, prefix, target.netloc, target.scheme == "https", region)


class S3ImageStore:
    """Objects in an S3-compatible bucket, through the MinIO client on a worker thread."""

    __slots__ = ("client", "location")

    def __init__(self, location: S3Location, env: Mapping[str, str]) -> None:
        from minio import Minio  # imported when an S3 store is configured, not before

        access, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        if not access or not secret:
            raise ImageStoreError("an S3 image store needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        self.location = location
        self.client = Minio(
            location.host,
            access_key=access,
            secret_key=secret,
            session_token=env.get("AWS_SESSION_TOKEN") or None,
            secure=location.secure,
            region=location.region,
        )

    def _put(self, key: str, data: bytes, content_type: str) -> None:
        name = self.location.object_name(key)
        self.client.put_object(
            self.location.bucket, name, io.BytesIO(data), len(data), content_type=content_type
        )

    def _get(self, key: str) -> bytes | None:
        from minio.error import S3Error

        name = self.location.object_name(key)
        try:
            response = self.client.get_object(self.location.bucket, name)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                return None
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def _delete(self, key: str) -> None:
        self.client.remove_object(self.location.bucket, self.location.object_name(key))

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._put, key, data, content_type)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, key)


def open_store(setting: str, env: Mapping[str, str] | None = None) -> ImageStore:
    """The store `PATRON_IMAGE_STORE` names (see the module docstring)."""
    env = os.environ if env is None else env
    text = setting.strip()
    if not text:
        raise ImageStoreError("PATRON_IMAGE_STORE is empty")
    if text.startswith("s3://"):
        return S3ImageStore(parse_s3_url(text, env), env)
    if text.startswith("file://"):
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise ImageStoreError("a file:// image store names a local directory (file:///path)")
        return FileImageStore(Path(unquote(parts.path)))
    if "://" in text:
        raise ImageStoreError(f"unknown image store scheme in {text!r}; use a path, file:// or s3://")
    return FileImageStore(Path(text))
