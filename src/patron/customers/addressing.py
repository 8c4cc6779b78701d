"""How a request addresses a customer: its source and account, its id, or an identifier."""

from __future__ import annotations

from collections.abc import Sequence

from patron.context import RequestContext
from patron.customers import catalog
from patron.customers.cards import series_names
from patron.customers.commands import CustomerRef, SourceAccount
from patron.customers.domain import InvalidIdentifier, normalise_identifier
from patron.customers.views import CustomerView
from patron.db.uow import UnitOfWork
from patron.errors import InvalidInput, NotFound
from patron.orgs.config import OrgConfig


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
