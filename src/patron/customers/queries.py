"""Read use cases: Fetch Customer ID, Fetch Customer Details, Advanced Customer Search."""

from __future__ import annotations

from dataclasses import dataclass, field

from patron.context import RequestContext
from patron.customers import catalog
from patron.customers.addressing import customer_id_by_identifier, find_customer, resolve_account
from patron.customers.commands import CustomerRef, SearchCustomers, SourceAccount
from patron.customers.views import CustomerListing, CustomerView, SearchListing, SearchPage
from patron.db.uow import UnitOfWork
from patron.engagement.images import ImageVersion
from patron.engagement.images import listing as image_listing
from patron.engagement.subscriptions import Subscription, listing
from patron.errors import InvalidInput, NotFound
from patron.loyalty.reads import Embedded, embedded

MAX_PAGE = 100


async def lookup_id(uow: UnitOfWork, ctx: RequestContext, where: SourceAccount, name: str, value: str) -> int:
    source, account = resolve_account(ctx.config, where, allow_all=True)
    return await customer_id_by_identifier(uow, ctx, name, value, source, account, catalog.LOOKUP_NAMES)


@dataclass(frozen=True, slots=True)
class Details:
    customer: CustomerView
    source: str
    account_id: str
    embeds: tuple[str, ...]
    # What the loyalty embeds read beyond the record (loyalty/reads.py).
    loyalty: Embedded = field(default_factory=Embedded)
    # embed=subscriptions: the statuses of the source account (engagement/subscriptions.py).
    subscriptions: list[Subscription] = field(default_factory=list)
    # embed=CUSTOMERIMAGE: the customer's image at its latest version (engagement/images.py).
    images: list[ImageVersion] = field(default_factory=list)


def parse_embed(raw: str | None) -> tuple[str, ...]:
    """Split an embed list; refuse unknown values."""
    if not raw:
        return ()
    wanted = tuple(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))
    for value in wanted:
        if value not in catalog.EMBED_VALUES:
            raise InvalidInput(400, detail=f"embed must be among {', '.join(catalog.EMBED_VALUES)}.")
    return wanted


async def details(
    uow: UnitOfWork,
    ctx: RequestContext,
    ref: CustomerRef,
    where: SourceAccount,
    embed: str | None,
) -> Details:
    source, account = resolve_account(ctx.config, where, allow_all=True)
    embeds = parse_embed(embed)
    allowed_names = catalog.DETAILS_LOOKUP_NAMES
    if ref.identifier is not None and ref.identifier.name not in allowed_names:
        raise InvalidInput(8013, detail=f"identifierName must be one of {', '.join(allowed_names)}.")
    view = await find_customer(uow, ctx, ref, source, account)
    if source != catalog.ALL_SOURCES and view.profile(source, account) is None:
        raise NotFound(8065)
    if not embeds:
        return Details(view, source, account, embeds)
    extra = await embedded(uow, ctx, view, embeds, by_identifier=ref.identifier is not None)
    subscriptions: list[Subscription] = []
    if "subscriptions" in embeds:
        subscriptions = await listing(uow, ctx, view.customer_id, source, account)
    pictures = await image_listing(uow, ctx, view.customer_id) if "CUSTOMERIMAGE" in embeds else []
    return Details(view, source, account, embeds, extra, subscriptions, pictures)


async def search(uow: UnitOfWork, ctx: RequestContext, cmd: SearchCustomers) -> SearchPage:
    q = cmd.q.strip()
    if not q:
        raise InvalidInput(400, detail="q is required.")
    if len(q) > 100:
        raise InvalidInput(400, detail="q is longer than 100 characters.")
    if not 1 <= cmd.limit <= MAX_PAGE:
        raise InvalidInput(400, detail=f"limit must be between 1 and {MAX_PAGE}.")
    if cmd.offset < 0:
        raise InvalidInput(400, detail="offset must be 0 or more.")
    return await uow.customers.search(ctx.org_id, q, limit=cmd.limit, offset=cmd.offset)


async def search_listing(uow: UnitOfWork, ctx: RequestContext, cmd: SearchCustomers) -> SearchListing:
    """Advanced Customer Search with what a list of customers shows of each one: names,
    mobiles, emails, sources and status (the console's results table)."""
    page = await search(uow, ctx, cmd)
    ids = [hit.customer_id for hit in page.hits]
    statuses, identifiers = await uow.customers.listing(ctx.org_id, ids)
    rows = []
    for hit in page.hits:
        held = identifiers.get(hit.customer_id, [])
        rows.append(
            CustomerListing(
                customer_id=hit.customer_id,
                names=[n for n in dict.fromkeys(f"{f} {la}".strip() for _, _, f, la in hit.profiles) if n],
                mobiles=sorted({value for kind, value in held if kind == "mobile"}),
                emails=sorted({value for kind, value in held if kind == "email"}),
                sources=list(
                    dict.fromkeys(f"{src}/{acc}" if acc else src for src, acc, _, _ in hit.profiles)
                ),
                status=statuses.get(hit.customer_id, ""),
            )
        )
    return SearchListing(page.total, rows, page.exact)
