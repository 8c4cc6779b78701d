"""Steps the customer use cases share: addressing, input checks, history and locking."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron.context import RequestContext
from patron.customers import catalog
from patron.customers.commands import CommChannelInput, CustomerRef, IdentifierInput, SourceAccount
from patron.customers.domain import FieldChange, InvalidIdentifier, normalise_identifier
from patron.customers.views import CustomerView
from patron.db.uow import UnitOfWork
from patron.errors import InvalidInput, NotFound
from patron.orgs.config import CardSeries, OrgConfig


def resolve_account(config: OrgConfig, where: SourceAccount, *, allow_all: bool = False) -> tuple[str, str]:
    """Check a source and account against the org config: (source, account id or "")."""
    source = (where.source or "").strip()
    account = (where.account_id or "").strip()
    if not source:
        raise InvalidInput(400, detail="The source parameter is required.")
    if allow_all and source.upper() == catalog.ALL_SOURCES:
        return catalog.ALL_SOURCES, ""
    if source not in config.sources:
        raise InvalidInput(8012, detail=f"'{source}' is not a source enabled for this org.")
    accounts = config.sources[source]
    if accounts:
        if not account:
            raise InvalidInput(8045, detail=f"{source} has several accounts; pass accountId.")
        if account not in accounts:
            raise InvalidInput(8011, detail=f"'{account}' is not an account of {source}.")
    elif account:
        raise InvalidInput(8011, detail=f"{source} is a single-account source; omit accountId.")
    return source, account


@dataclass(frozen=True, slots=True)
class CleanIdentifier:
    type: str
    value: str
    raw: IdentifierInput


def clean_identifier(item: IdentifierInput, config: OrgConfig, codes: dict[str, int]) -> CleanIdentifier:
    """Canonical type and normalised value; `codes` maps a type to its failure code."""
    id_type = catalog.canonical_type(str(item.type or ""))
    if id_type is None:
        raise InvalidInput(
            400,
            detail=f"'{item.type}' is not an identifier type; use one of "
            f"{', '.join(catalog.IDENTIFIER_TYPES)}.",
        )
    try:
        value = normalise_identifier(id_type, item.value, config)
    except InvalidIdentifier as exc:
        code = codes.get(id_type, 400)
        raise InvalidInput(code, detail=f"{id_type} '{item.value}': {exc.reason}.") from exc
    return CleanIdentifier(id_type, value, item)


def clean_comm_channels(
    channels: Sequence[CommChannelInput], config: OrgConfig, source: str
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for ch in channels:
        if ch.type not in catalog.COMM_CHANNEL_TYPES:
            raise InvalidInput(8010, detail=f"'{ch.type}' is not a channel type.")
        if ch.type == "mobilePush" and source not in catalog.MOBILE_PUSH_SOURCES:
            raise InvalidInput(8010, detail=f"mobilePush is not supported for {source}.")
        value: Any = ch.value
        try:
            if ch.type == "mobile":
                value = normalise_identifier("mobile", ch.value, config)
            elif ch.type == "email":
                value = normalise_identifier("email", ch.value, config)
            else:
                value = normalise_identifier("wechat", ch.value, config)
        except InvalidIdentifier as exc:
            code = {"mobile": 8058, "email": 8057}.get(ch.type, 8010)
            raise InvalidInput(code, detail=exc.reason) from exc
        item: dict[str, Any] = {
            "type": ch.type,
            "value": value,
            "primary": ch.primary,
            "verified": ch.verified,
            "meta": ch.meta,
            "attributes": ch.attributes,
        }
        if ch.subscribed is not None:
            item["subscribed"] = ch.subscribed
        out.append(item)
    return out


def card_series(config: OrgConfig, item: IdentifierInput) -> CardSeries:
    """The configured series a card identifier names (by seriesId or seriesCode)."""
    series: CardSeries | None
    if item.series_id is not None:
        series = config.series_by_id(item.series_id)
        if series is None or (item.series_code and item.series_code != series.series_code):
            raise InvalidInput(400, detail=f"Card series {item.series_id} is not configured.")
    elif item.series_code:
        series = config.series_by_code(item.series_code)
        if series is None:
            raise InvalidInput(400, detail=f"Card series '{item.series_code}' is not configured.")
    elif len(config.card_series) == 1:
        series = config.card_series[0]
    else:
        raise InvalidInput(400, detail="A card needs a seriesId or seriesCode of a configured series.")
    return series


def card_status_label(series: CardSeries, label: str | None) -> str:
    if label is None:
        return series.status_labels[0]
    match = next((s for s in series.status_labels if s.casefold() == label.casefold()), None)
    if match is None:
        raise InvalidInput(
            400,
            detail=f"statusLabel '{label}' is not one of {', '.join(series.status_labels)}.",
        )
    return match


async def lock_identifiers(uow: UnitOfWork, org_id: int, pairs: Iterable[tuple[str, str]]) -> None:
    """Serialise writers that claim the same identifier values (PostgreSQL only).

    SQLite's single writer already serialises them. On PostgreSQL, a transaction-scoped
    advisory lock per (org, type, value), taken in sorted order in one statement, makes
    "check, then merge or insert" atomic across sources, where a unique key alone covers
    only one account.
    """
    if uow.dialect != "postgresql":
        return
    await uow.tx.advisory_locks(sorted({_lock_key(org_id, t, v) for t, v in pairs}))


def _lock_key(org_id: int, id_type: str, value: str) -> int:
    digest = hashlib.blake2b(f"{org_id}\x00{id_type}\x00{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def record_changes(
    uow: UnitOfWork,
    ctx: RequestContext,
    customer_id: int,
    kind: str,
    changes: Sequence[FieldChange],
    now: datetime,
) -> None:
    """Write the history rows of one change (who, when, where, before and after)."""
    if not changes:
        return
    await uow.customers.insert_changes(
        [
            {
                "org_id": ctx.org_id,
                "customer_id": customer_id,
                "kind": kind,
                "field_name": c.field_name,
                "field_type": c.field_type,
                "previous_value": c.previous_value,
                "current_value": c.current_value,
                "source": c.source,
                "account_id": c.account_id,
                "till_id": ctx.actor.till_id,
                "request_id": ctx.request_id,
                "changed_at": now,
            }
            for c in changes
        ]
    )


def channels_text(channels: list[dict[str, Any]]) -> str:
    return json.dumps([{"type": c["type"], "value": c["value"]} for c in channels], separators=(",", ":"))


async def find_customer(
    uow: UnitOfWork,
    ctx: RequestContext,
    ref: CustomerRef,
    source: str,
    account: str,
    *,
    missing_code: int = 8015,
    lock: bool = False,
) -> CustomerView:
    """The record a request addresses, by id or by an identifier in the source account.

    `lock` takes the customer row for the rest of the transaction (PostgreSQL), so
    concurrent writers of one customer apply one after the other and no update is lost.
    """
    names = series_names(ctx.config)
    if ref.customer_id is not None:
        view = await uow.customers.view(ctx.org_id, ref.customer_id, names, lock=lock)
        if view is None:
            raise NotFound(missing_code)
        if view.merged_into_id is not None:
            raise NotFound(8069, detail=f"Use customer id {view.merged_into_id}.")
        return view
    assert ref.identifier is not None
    customer_id = await customer_id_by_identifier(
        uow, ctx, ref.identifier.name, ref.identifier.value, source, account, catalog.LOOKUP_NAMES
    )
    view = await uow.customers.view(ctx.org_id, customer_id, names, lock=lock)
    assert view is not None
    return view


async def customer_id_by_identifier(
    uow: UnitOfWork,
    ctx: RequestContext,
    name: str,
    raw_value: str,
    source: str,
    account: str,
    allowed: Sequence[str],
) -> int:
    """Resolve an identifier to a customer id: 8013 bad name or value, 8015 or 8065 missing."""
    if name not in allowed:
        raise InvalidInput(8013, detail=f"identifierName must be one of {', '.join(allowed)}.")
    if not raw_value:
        raise InvalidInput(8013, detail="identifierValue is required.")
    repo = uow.customers
    if name == "cardExternalId":
        card = await repo.card_by_external_id(ctx.org_id, raw_value.strip())
        if card is None or card["customer_id"] is None:
            raise NotFound(8015)
        pair = (catalog.CARD, str(card["card_number"]))
    else:
        id_type = catalog.canonical_type(name)
        assert id_type is not None
        try:
            pair = (id_type, normalise_identifier(id_type, raw_value, ctx.config))
        except InvalidIdentifier as exc:
            raise InvalidInput(8013, detail=exc.reason) from exc
    holders = await repo.holders(ctx.org_id, [pair])
    if not holders:
        raise NotFound(8015)
    if source == catalog.ALL_SOURCES:
        return holders[0].customer_id
    for h in holders:
        if h.source == source and h.account_id == account:
            return h.customer_id
    raise NotFound(8065)


def series_names(config: OrgConfig) -> dict[int, str]:
    return {s.series_id: s.name or s.series_code for s in config.card_series}
