"""Subscriptions: whether a customer receives messages on a channel (SMS, EMAIL, ANDROID,
IOS, WECHAT, WHATSAPP, LINE) at a priority (TRANS: transactional and personalised messages;
BULK: campaigns), per source account of the org.

    update(...)   POST /v2/customers/{id}/subscriptions   Update Subscription Details
    read(...)     GET  /v2/customers/{id}/subscriptions   Retrieve Subscription Details
    listing(...)  embed=subscriptions of Fetch Customer Details

The default: a customer without a stored status for a combination is OPTIN on it (the
seed's embed sample shows a customer opted in on every channel and priority,
003:L2518-2567). A status is stored once it was set; reads list the default channels
(EMAIL, SMS, ANDROID, IOS, the embed sample's) for TRANS then BULK, and after them any
other channel the customer has a stored status on.

An entry names its source account by `sourceName` (INSTORE when absent) and `accountId`
(empty for a single-account source, one of the source's accounts for a multi-account one),
checked against the org configuration like every v2 source account (8012, 8045, 8011).
Channels and statuses are read in any case; MOBILE is SMS (the seed's sample answers SMS
for MOBILE, 003:L2859-2905). Input is checked before anything is read (1101 channel, 1102
priority, 1106 type, 1103 scope, 2100 the number of entries, 2101 an entry twice).

An update holds the customer row, reads its stored statuses, stores each given status that
differs from the stored one (a first explicit OPTIN too, so the channel is listed from then
on) and records one customerSubscription per changed entry (engagement/subscription_events.py);
re-posting the current state writes nothing and raises nothing. A subscription change is
not a customerUpdated (000:L278).
"""

from __future__ import annotations

from dataclasses import dataclass

from patron.context import RequestContext
from patron.customers.addressing import resolve_account
from patron.customers.cards import series_names
from patron.customers.catalog import ALL_SOURCES
from patron.customers.commands import SourceAccount
from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.engagement.subscription_events import CustomerSubscriptionChanged, SubscriptionChange
from patron.engagement.subscriptions_repository import Key
from patron.errors import InvalidInput, NotFound

OPTIN = "OPTIN"
OPTOUT = "OPTOUT"
STATUSES = (OPTIN, OPTOUT)
DEFAULT_STATUS = OPTIN
TRANS = "TRANS"
BULK = "BULK"
PRIORITIES = (TRANS, BULK)
DEFAULT_CHANNELS = ("EMAIL", "SMS", "ANDROID", "IOS")
CHANNELS = (*DEFAULT_CHANNELS, "WECHAT", "WHATSAPP", "LINE")
CHANNEL_ALIASES = {"MOBILE": "SMS"}
DEFAULT_SOURCE = "INSTORE"
USER_SCOPE = "USER"
NO_SUB_SCOPE = "NONE"
MAX_ENTRIES = 50


@dataclass(frozen=True, slots=True)
class SubscriptionEntry:
    """One entry of an update as the request gave it (None: not given)."""

    channel: str | None
    priority: str | None
    type: str | None
    account_id: str | None = None
    source_name: str | None = None
    org_unit_id: int | None = None


@dataclass(frozen=True, slots=True)
class UpdateSubscriptions:
    customer_id: int
    entries: tuple[SubscriptionEntry, ...]
    scope: str | None = None
    sub_scope: str | None = None
    campaign_id: int | None = None
    communication_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ReadSubscriptions:
    customer_id: int
    source: str | None = None
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class Subscription:
    channel: str
    priority: str
    status: str
    account_id: str = ""


@dataclass(frozen=True, slots=True)
class SubscriptionsUpdated:
    """What an update answers: the scope and the entries as applied, and the request's
    campaign, communication and reason echoed."""

    scope: str
    sub_scope: str
    entries: list[Subscription]
    campaign_id: int
    communication_id: int
    reason: str
    changed: int


# Rules --------------------------------------------------------------------------------------


def channel_of(raw: str | None) -> str:
    name = (raw or "").strip().upper()
    name = CHANNEL_ALIASES.get(name, name)
    if name not in CHANNELS:
        raise InvalidInput(1101, detail=f"channel must be one of {', '.join(CHANNELS)} (or MOBILE for SMS).")
    return name


def priority_of(raw: str | None) -> str:
    name = (raw or "").strip().upper()
    if name not in PRIORITIES:
        raise InvalidInput(1102, detail="priority must be TRANS or BULK.")
    return name


def status_of(raw: str | None) -> str:
    name = (raw or "").strip().upper()
    if name not in STATUSES:
        raise InvalidInput(1106, detail="type must be OPTIN or OPTOUT.")
    return name


def scope_of(scope: str | None, sub_scope: str | None) -> tuple[str, str]:
    s = USER_SCOPE if scope is None else scope.strip().upper()
    sub = NO_SUB_SCOPE if sub_scope is None else sub_scope.strip().upper()
    if s != USER_SCOPE or sub != NO_SUB_SCOPE:
        raise InvalidInput(1103, detail="scope must be USER and subScope NONE.")
    return s, sub


def listed(stored: dict[Key, str], source: str, account_id: str) -> list[Subscription]:
    """The statuses of one source account: the default channels for TRANS then BULK, then
    any other channel with a stored status; a combination never set has the default."""
    by_key = {
        (k.channel, k.priority): v
        for k, v in stored.items()
        if (k.source, k.account_id) == (source, account_id)
    }
    extra = [c for c in CHANNELS if c not in DEFAULT_CHANNELS and any(ch == c for ch, _ in by_key)]
    out = []
    for priority in PRIORITIES:
        for channel in (*DEFAULT_CHANNELS, *extra):
            out.append(
                Subscription(channel, priority, by_key.get((channel, priority), DEFAULT_STATUS), account_id)
            )
    return out


def _checked(ctx: RequestContext, cmd: UpdateSubscriptions) -> list[tuple[Key, str, int | None]]:
    if not 1 <= len(cmd.entries) <= MAX_ENTRIES:
        raise InvalidInput(2100, x=MAX_ENTRIES)
    out: list[tuple[Key, str, int | None]] = []
    seen: set[Key] = set()
    for entry in cmd.entries:
        channel = channel_of(entry.channel)
        priority = priority_of(entry.priority)
        status = status_of(entry.type)
        source_name = (entry.source_name or DEFAULT_SOURCE).strip().upper()
        source, account = resolve_account(ctx.config, SourceAccount(source_name, entry.account_id))
        key = Key(source, account, channel, priority)
        if key in seen:
            raise InvalidInput(2101, x=channel)
        seen.add(key)
        out.append((key, status, entry.org_unit_id))
    return out


# Use cases ----------------------------------------------------------------------------------


async def update(uow: UnitOfWork, ctx: RequestContext, cmd: UpdateSubscriptions) -> SubscriptionsUpdated:
    """Set the statuses the request gives (customerSubscription per changed entry)."""
    scope, sub_scope = scope_of(cmd.scope, cmd.sub_scope)
    wanted = _checked(ctx, cmd)
    core = await uow.customers.core(ctx.org_id, cmd.customer_id, lock=True)
    if core is None:
        raise NotFound(8015)
    if core.merged_into_id is not None:
        raise NotFound(8069, detail=f"Use customer id {core.merged_into_id}.")
    stored = await uow.subscriptions.of_customer(ctx.org_id, cmd.customer_id)
    # A status given is stored (so a channel set once is listed from then on); an event is
    # raised only where the effective status changes, the default counting as the previous.
    writes = [
        (key, status, unit, stored.get(key)) for key, status, unit in wanted if stored.get(key) != status
    ]
    changes = [w for w in writes if (w[3] or DEFAULT_STATUS) != w[1]]
    now = utcnow()
    if writes:
        await uow.subscriptions.save(
            ctx.org_id,
            cmd.customer_id,
            [(key, status, previous is not None) for key, status, _, previous in writes],
            now,
            ctx.actor.till_id,
        )
    if changes:
        view = await uow.customers.view(ctx.org_id, cmd.customer_id, series_names(ctx.config))
        if view is None:  # held above: cannot vanish
            raise NotFound(8015)
        for key, status, unit, previous in changes:
            change = SubscriptionChange(
                key.source,
                key.account_id,
                key.channel,
                key.priority,
                previous or DEFAULT_STATUS,
                status,
                ctx.actor.till_id if unit is None else unit,
            )
            uow.record(CustomerSubscriptionChanged(view, ctx.actor, now, ctx.request_id, change))
    return SubscriptionsUpdated(
        scope,
        sub_scope,
        [Subscription(k.channel, k.priority, s, k.account_id) for k, s, _ in wanted],
        cmd.campaign_id or 0,
        cmd.communication_id or 0,
        cmd.reason or "",
        len(changes),
    )


async def read(uow: UnitOfWork, ctx: RequestContext, cmd: ReadSubscriptions) -> list[Subscription]:
    """The statuses of one source account (INSTORE when the request names none)."""
    source, account = resolve_account(ctx.config, SourceAccount(cmd.source or DEFAULT_SOURCE, cmd.account_id))
    core = await uow.customers.core(ctx.org_id, cmd.customer_id)
    if core is None:
        raise NotFound(8015)
    if core.merged_into_id is not None:
        raise NotFound(8069, detail=f"Use customer id {core.merged_into_id}.")
    return await listing(uow, ctx, cmd.customer_id, source, account)


async def listing(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, source: str, account_id: str
) -> list[Subscription]:
    """embed=subscriptions: the statuses of the source account the request names (for
    source=ALL, INSTORE's: its first account when the org gives it several)."""
    if source == ALL_SOURCES:
        source = DEFAULT_SOURCE
        account_id = next(iter(ctx.config.sources.get(DEFAULT_SOURCE, [])), "")
    stored = await uow.subscriptions.of_account(ctx.org_id, customer_id, source, account_id)
    return listed(stored, source, account_id)
