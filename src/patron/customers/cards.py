"""Issuing and returning loyalty cards; a card number is also a `cardnumber` identifier."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from patron.context import RequestContext
from patron.customers.commands import IdentifierInput
from patron.customers.domain import clean_custom_fields, validate_extended_fields
from patron.customers.repository import card_view
from patron.customers.views import CardView
from patron.db.tx import Row
from patron.db.uow import UnitOfWork
from patron.errors import Conflict, InvalidInput, RuleViolation, Warning_
from patron.orgs.config import CardSeries, OrgConfig


@dataclass(frozen=True, slots=True)
class CardPlan:
    """A card checked against its series and the stock, ready to issue."""

    number: str
    series_id: int
    series_code: str
    status_label: str
    external_id: str | None
    extended_fields: dict[str, object]
    custom_fields: dict[str, str | None]
    existing: Row | None


async def plan_card(
    uow: UnitOfWork,
    ctx: RequestContext,
    number: str,
    item: IdentifierInput,
    conflict_code: int,
    *,
    holder_id: int | None,
    pending: list[CardPlan],
) -> tuple[CardPlan, list[Warning_]]:
    """Check one card to issue; refuse a card held by someone else or absent from stock,
    and a card beyond the series' maxActiveCards for its holder (counting `pending`)."""
    repo = uow.customers
    existing = await repo.card(ctx.org_id, number)
    if existing is not None and item.series_id is None and not item.series_code:
        # A card in stock already knows its series (the seed's #21 sample names none).
        item = replace(item, series_id=int(existing["series_id"]))
    series = card_series(ctx.config, item)
    label = card_status_label(series, item.status_label)
    if series.number_pattern and not re.fullmatch(series.number_pattern, number):
        raise InvalidInput(400, detail=f"Card number does not match series {series.series_code}.")
    held = sum(1 for p in pending if p.series_id == series.series_id)
    if holder_id is not None:
        held += await repo.count_cards(ctx.org_id, holder_id, series.series_id)
    if held >= series.max_active_cards:
        raise InvalidInput(
            400,
            detail=f"Series {series.series_code} allows {series.max_active_cards} card(s) per customer.",
        )
    if existing is not None:
        if existing["customer_id"] is not None:
            raise Conflict(conflict_code, detail="The card is issued to a customer.")
        if int(existing["series_id"]) != series.series_id:
            raise InvalidInput(400, detail=f"The card belongs to series {existing['series_id']}.")
    elif ctx.config.require_precreated_cards:
        raise InvalidInput(400, detail="The card is not in stock; create it before issuing.")
    external = (item.card_external_id or "").strip() or None
    if external is not None:
        holder = await repo.card_by_external_id(ctx.org_id, external)
        if holder is not None and holder["card_number"] != number:
            raise Conflict(conflict_code, detail="cardExternalId is used by another card.")
    extended, warnings = validate_extended_fields(dict(item.extended_fields), ctx.config, card=True)
    try:
        custom = clean_custom_fields(dict(item.custom_fields))
    except ValueError as exc:
        raise InvalidInput(1017, detail=str(exc)) from exc
    plan = CardPlan(number, series.series_id, series.series_code, label, external, extended, custom, existing)
    return plan, warnings


async def issue_card(
    uow: UnitOfWork,
    ctx: RequestContext,
    plan: CardPlan,
    customer_id: int,
    now: datetime,
    series_names: dict[int, str],
) -> CardView:
    """Issue a planned card to a customer (from stock, or new); return it as now stored."""
    if plan.existing is not None:
        base = card_view(plan.existing, series_names)
    else:
        base = CardView(
            card_id=await uow.tx.id("card"),
            card_number=plan.number,
            series_id=plan.series_id,
            series_code=plan.series_code,
            series_name=series_names.get(plan.series_id),
            status_label=plan.status_label,
            card_external_id=None,
            extended_fields={},
            custom_fields={},
            issued_at=None,
            created_at=now,
            status_changed_at=now,
            created_by_till_id=ctx.actor.till_id,
            customer_id=None,
        )
    card = replace(
        base,
        customer_id=customer_id,
        status_label=plan.status_label,
        status_changed_at=now,
        issued_at=now,
        card_external_id=plan.external_id if plan.external_id is not None else base.card_external_id,
        extended_fields={**base.extended_fields, **plan.extended_fields},
        custom_fields={**base.custom_fields, **plan.custom_fields},
    )
    await uow.customers.save_card(ctx.org_id, card, new=plan.existing is None)
    return card


async def return_card(uow: UnitOfWork, ctx: RequestContext, number: str, now: datetime) -> None:
    """Take a card off its holder; it stays in stock with its history."""
    await uow.customers.release_card(ctx.org_id, number, now)


def require_loyalty(loyalty_type: str) -> None:
    if loyalty_type != "loyalty":
        raise RuleViolation(1013, detail="Cards are issued to loyalty customers only.")


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


def series_names(config: OrgConfig) -> dict[int, str]:
    return {s.series_id: s.name or s.series_code for s in config.card_series}
