"""How every write route runs its use case: `Idempotency-Key` handled once, for all writes.

A write route renders its answer inside the unit of work (`render`), so the answer can be
stored with the write when the request carries an `Idempotency-Key`:

    return await write(ctx, apply_registration, ctx, plan, render=_written)

Without the header this is `db.write(fn, *args)` and `render` of its result. With it, the
rules of idempotency/service.py apply; a repeated request's answer carries
`Idempotent-Replayed: true`. Answers holding a secret (`sealed=True`) are stored encrypted.

The edge middleware (api/edge.py) reads the header and hashes the body as the route reads
it; the fingerprint is the method, the path, the query string and that hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request

from patron.api.http import JSONResponse
from patron.context import RequestContext
from patron.db.base import utcnow
from patron.db.engine import Database
from patron.db.tx import IntegrityError
from patron.db.uow import UnitOfWork
from patron.errors import InvalidInput, PatronError
from patron.idempotency.service import Answer, Claim, answer_once, stored_answer
from patron.webhooks.secrets import SecretBox

T = TypeVar("T")
HEADER = "Idempotency-Key"
_BAD_KEY = "Idempotency-Key must be 1 to 255 visible ASCII characters."


class IdempotencyDraft:
    """What the edge gathers for a write carrying the header: the key and the body's hash."""

    __slots__ = ("body", "key")

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.body = hashlib.sha256()


class Writer:
    __slots__ = ("box", "db", "draft", "request")

    def __init__(self, request: Request, db: Database, box: SecretBox) -> None:
        self.request = request
        self.db = db
        self.box = box
        self.draft: IdempotencyDraft | None = request.scope.get("state", {}).get("idempotency")

    async def __call__(
        self,
        ctx: RequestContext,
        fn: Callable[..., Awaitable[T]],
        *args: Any,
        render: Callable[[T], Any],
        status: int = 200,
        sealed: bool = False,
        **kwargs: Any,
    ) -> JSONResponse:
        if self.draft is None:
            result = await self.db.write(fn, *args, **kwargs)
            return JSONResponse(render(result), status_code=status)
        claim = self._claim(self.draft)
        context = f"idempotency:{ctx.org_id}:{claim.key}"

        async def work(uow: UnitOfWork) -> Any:
            body = render(await fn(uow, *args, **kwargs))
            return {"sealed": self.box.seal(orjson.dumps(body).decode(), context)} if sealed else body

        try:
            answer = await self.db.write(answer_once, ctx.org_id, claim, utcnow(), work, status)
        except (IntegrityError, PatronError):
            # A concurrent request with this key committed first (this one then found its
            # key, or its customer, taken): answer as that one did.
            earlier = await self.db.read(stored_answer, ctx.org_id, claim, utcnow())
            if earlier is None:
                raise
            answer = earlier
        return self._response(answer, context)

    async def batch(
        self,
        ctx: RequestContext,
        fn: Callable[..., Awaitable[T]],
        *args: Any,
        render: Callable[[T], Any],
        status: int = 200,
    ) -> JSONResponse:
        """A write made of several transactions (a batch whose items commit one by one):
        `fn(db, *args)` opens them itself. With an `Idempotency-Key`, a stored answer is
        replayed before anything runs; otherwise the items run and the answer is stored in
        a transaction of its own after them. A crash in between leaves the items written
        and the key free, so a repeat runs the items again: the batch's use cases must
        make that safe (known customers are reused, duplicates refused)."""
        if self.draft is None:
            return JSONResponse(render(await fn(self.db, *args)), status_code=status)
        claim = self._claim(self.draft)
        context = f"idempotency:{ctx.org_id}:{claim.key}"
        earlier = await self.db.read(stored_answer, ctx.org_id, claim, utcnow())
        if earlier is None:
            body = render(await fn(self.db, *args))

            async def work(_: UnitOfWork) -> Any:
                return body

            try:
                earlier = await self.db.write(answer_once, ctx.org_id, claim, utcnow(), work, status)
            except IntegrityError:
                # A concurrent repeat stored its answer first: answer as it did.
                earlier = await self.db.read(stored_answer, ctx.org_id, claim, utcnow())
                if earlier is None:
                    raise
        return self._response(earlier, context)

    def _claim(self, draft: IdempotencyDraft) -> Claim:
        key = draft.key
        if not 1 <= len(key) <= 255 or not all(0x21 <= b <= 0x7E for b in key):
            raise InvalidInput(400, detail=_BAD_KEY)
        scope = self.request.scope
        fingerprint = hashlib.sha256()
        for part in (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b"")):
            fingerprint.update(part)
            fingerprint.update(b"\n")
        fingerprint.update(draft.body.digest())
        return Claim(key.decode("ascii"), fingerprint.hexdigest())

    def _response(self, answer: Answer, context: str) -> JSONResponse:
        body = answer.body
        if isinstance(body, dict) and set(body) == {"sealed"}:
            body = orjson.loads(self.box.open(body["sealed"], context))
        headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
        return JSONResponse(body, status_code=answer.status, headers=headers)


async def writer(request: Request) -> Writer:
    state = request.app.state
    return Writer(request, state.db, state.box)


Write = Annotated[Writer, Depends(writer)]
