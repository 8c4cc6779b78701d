"""How the customer record's writers record their identifier change requests
(engagement/change_requests.py lists and decides them).

changeIdentifier and registration merges call these in their own unit of work, so a change
and its request row commit together or not at all:

    applied(...)   a change that took effect: APPROVED at once (oneStep), "auto approved by
                   <till id>"; a merge of two customers is recorded on the survivor
    pending(...)   a change the org wants approved first (identifierChangeApproval): PENDING,
                   holding the command to apply on approval

A request's `changeType` is the wire name of the identifier type it touched (EMAIL, MOBILE,
EXTERNAL_ID, CARDNUMBER, WECHAT ...), MULTIPLE when it touched several, and MERGE when it
folded customers together; `types` keeps every type touched, so a filter on one type also
finds the requests that touched it among others.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from patron.context import RequestContext
from patron.customers.commands import ChangeIdentifiers, IdentifierInput, SourceAccount
from patron.db.uow import UnitOfWork

PENDING = "PENDING"
APPROVED = "APPROVED"
REJECTED = "REJECTED"
MERGE = "MERGE"
MULTIPLE = "MULTIPLE"

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def wire_type(id_type: str) -> str:
    """An identifier type as the list names it: externalId -> EXTERNAL_ID (003:L3386)."""
    return _CAMEL.sub("_", id_type).upper()


def change_type_of(types: Sequence[str]) -> str:
    names = sorted({wire_type(t) for t in types})
    return names[0] if len(names) == 1 else MULTIPLE


def _types(types: Sequence[str]) -> str:
    return "," + ",".join(sorted({wire_type(t) for t in types})) + ","


def _items(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"type": wire_type(t), "value": v} for t, v in pairs]


def auto_comment(ctx: RequestContext) -> str:
    # The seed's wording for a change nobody had to approve (003:L3400).
    return f"auto approved by {ctx.actor.till_id}"


async def _insert(
    uow: UnitOfWork,
    ctx: RequestContext,
    *,
    customer_id: int,
    where: tuple[str, str],
    adds: Sequence[tuple[str, str]],
    removes: Sequence[tuple[str, str]],
    status: str,
    change_type: str,
    command: dict[str, Any] | None,
    merged_customer_id: int | None,
    comments: str,
    now: datetime,
    merge_id: int | None = None,
    undo: bool = False,
) -> int:
    request_id = await uow.tx.id("change_request")
    changes: dict[str, Any] = {"add": _items(adds), "remove": _items(removes)}
    if undo:
        changes["undo"] = True
    touched = [t for t, _ in adds] + [t for t, _ in removes]
    await uow.change_requests.add(
        [
            {
                "org_id": ctx.org_id,
                "request_id": request_id,
                "customer_id": customer_id,
                "change_type": change_type,
                "types": _types(touched) if touched else ",",
                "status": status,
                "source": where[0],
                "account_id": where[1],
                "changes": changes,
                "command": command,
                "merged_customer_id": merged_customer_id,
                "merge_id": merge_id,
                "comments": comments,
                "one_step": status == APPROVED,
                "api_request_id": ctx.request_id,
                "added_by_till_id": ctx.actor.till_id,
                "updated_by_till_id": ctx.actor.till_id,
                "added_at": now,
                "updated_at": now,
            }
        ]
    )
    return request_id


async def applied(
    uow: UnitOfWork,
    ctx: RequestContext,
    *,
    customer_id: int,
    where: tuple[str, str],
    adds: Sequence[tuple[str, str]],
    removes: Sequence[tuple[str, str]],
    now: datetime,
    merged_customer_id: int | None = None,
    merge_id: int | None = None,
    undo: bool = False,
) -> int:
    """Record a change that took effect at once (APPROVED); `merge_id` for one that combined
    records (a registration merge, 8050, a changeIdentifier merge, 8051, or an explicit one)
    or, with `undo`, that undid such a merge (a MERGE entry marked `undo`)."""
    touched = [t for t, _ in adds] + [t for t, _ in removes]
    return await _insert(
        uow,
        ctx,
        customer_id=customer_id,
        where=where,
        adds=adds,
        removes=removes,
        status=APPROVED,
        change_type=MERGE if merge_id is not None else change_type_of(touched),
        command=None,
        merged_customer_id=merged_customer_id,
        comments=auto_comment(ctx),
        now=now,
        merge_id=merge_id,
        undo=undo,
    )


async def pending(
    uow: UnitOfWork,
    ctx: RequestContext,
    cmd: ChangeIdentifiers,
    *,
    where: tuple[str, str],
    adds: Sequence[tuple[str, str]],
    removes: Sequence[tuple[str, str]],
    now: datetime,
) -> int:
    """Record a change that waits for approval, with the command that applies it."""
    touched = [t for t, _ in adds] + [t for t, _ in removes]
    return await _insert(
        uow,
        ctx,
        customer_id=cmd.customer_id,
        where=where,
        adds=adds,
        removes=removes,
        status=PENDING,
        change_type=change_type_of(touched),
        command=command_json(cmd),
        merged_customer_id=None,
        comments="",
        now=now,
    )


def command_json(cmd: ChangeIdentifiers) -> dict[str, Any]:
    """A changeIdentifier command as stored with its pending request."""
    return {
        "source": cmd.where.source,
        "accountId": cmd.where.account_id,
        "add": [asdict(i) for i in cmd.add],
        "remove": [asdict(i) for i in cmd.remove],
    }


def command_of(customer_id: int, stored: dict[str, Any]) -> ChangeIdentifiers:
    """The command a pending request holds, to apply on approval."""
    return ChangeIdentifiers(
        customer_id,
        SourceAccount(stored["source"], stored["accountId"]),
        tuple(IdentifierInput(**i) for i in stored["add"]),
        tuple(IdentifierInput(**i) for i in stored["remove"]),
    )
