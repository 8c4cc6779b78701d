"""Every query of the customer record. Each method takes the org it acts in.

Statements are written once (db/sql.py) and return plain rows mapped to the read models
of customers/views.py; nothing is loaded that the caller does not use, and nothing the
caller already holds is read back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from patron.customers.domain import search_terms
from patron.customers.views import (
    CardView,
    CustomerView,
    EnrollmentView,
    Holder,
    IdentifierView,
    ProfileView,
    SearchHit,
    SearchPage,
    TillRef,
    sort_profiles,
)
from patron.db.sql import Q
from patron.db.tx import Row, Table, Tx

_CUSTOMER_COLUMNS = (
    "customer_id, loyalty_type, status_label, merged_into_id, extended_fields, custom_fields,"
    " associated_with, created_from_source, fraud_status, lifetime_purchases, registered_at,"
    " created_at, updated_at, created_by_till_id, updated_by_till_id, version"
)
_CUSTOMER = Q(
    f"SELECT {_CUSTOMER_COLUMNS} FROM customer WHERE org_id = :org_id AND customer_id = :customer_id"
)
_CUSTOMER_LOCKED = Q(
    sqlite=_CUSTOMER.sqlite,
    postgresql=f"{_CUSTOMER.postgresql} FOR UPDATE",
)
_PROFILES = Q(
    "SELECT source, account_id, first_name, last_name, comm_channels, created_at, updated_at,"
    " created_by_till_id, updated_by_till_id FROM customer_profile"
    " WHERE org_id = :org_id AND customer_id = :customer_id"
)
_IDENTIFIERS = Q(
    "SELECT source, account_id, id_type, value, created_at FROM customer_identifier"
    " WHERE org_id = :org_id AND customer_id = :customer_id"
)
_CARD_COLUMNS = (
    "card_id, card_number, series_id, series_code, status_label, card_external_id, extended_fields,"
    " custom_fields, issued_at, created_at, status_changed_at, created_by_till_id, customer_id"
)
_CARDS_OF = Q(f"SELECT {_CARD_COLUMNS} FROM card WHERE org_id = :org_id AND customer_id = :customer_id")
_CARD = Q(f"SELECT {_CARD_COLUMNS} FROM card WHERE org_id = :org_id AND card_number = :number")
_CARD_BY_EXTERNAL = Q(
    f"SELECT {_CARD_COLUMNS} FROM card WHERE org_id = :org_id AND card_external_id = :external_id"
)
_COUNT_CARDS = Q(
    "SELECT COUNT(*) FROM card WHERE org_id = :org_id AND customer_id = :customer_id"
    " AND series_id = :series_id"
)
_ENROLLMENTS = Q(
    "SELECT program_id, tier_number, loyalty_points, tier_expires_at, points_expire_at, enrolled_at,"
    " lifetime_points, redeemed, expired, returned, adjusted, cumulative_purchases"
    " FROM loyalty_enrollment WHERE org_id = :org_id AND customer_id = :customer_id"
)
_VIEW_PG = (
    f"SELECT {_CUSTOMER_COLUMNS},"
    " (SELECT json_agg(json_build_array(p.source, p.account_id, p.first_name, p.last_name, p.comm_channels,"
    " p.created_at, p.updated_at, p.created_by_till_id, p.updated_by_till_id)) FROM customer_profile p"
    " WHERE p.org_id = c.org_id AND p.customer_id = c.customer_id),"
    " (SELECT json_agg(json_build_array(i.source, i.account_id, i.id_type, i.value, i.created_at))"
    " FROM customer_identifier i WHERE i.org_id = c.org_id AND i.customer_id = c.customer_id),"
    " (SELECT json_agg(json_build_array(k.card_id, k.card_number, k.series_id, k.series_code,"
    " k.status_label, k.card_external_id, k.extended_fields, k.custom_fields, k.issued_at, k.created_at,"
    " k.status_changed_at, k.created_by_till_id, k.customer_id)) FROM card k"
    " WHERE k.org_id = c.org_id AND k.customer_id = c.customer_id),"
    " (SELECT json_agg(json_build_array(e.program_id, e.tier_number, e.loyalty_points, e.tier_expires_at,"
    " e.points_expire_at, e.enrolled_at, e.lifetime_points, e.redeemed, e.expired, e.returned, e.adjusted,"
    " e.cumulative_purchases::text)) FROM loyalty_enrollment e"
    " WHERE e.org_id = c.org_id AND e.customer_id = c.customer_id)"
    " FROM customer c WHERE c.org_id = :org_id AND c.customer_id = :customer_id"
)
_VIEW = Q(postgresql=_VIEW_PG, sqlite="SELECT 1")
_TILLS = Q("SELECT till_id, code, name FROM till WHERE org_id = :org_id AND till_id IN (:ids*)")
_HOLDER_COLUMNS = "source, account_id, id_type, value, customer_id"
# One index seek on (org_id, id_type, value) per pair: one SELECT per pair glued with
# UNION ALL (cached per count). A row-value IN list makes SQLite scan the org's
# identifiers, and a join with unnested arrays makes PostgreSQL guess a hash join.
_HOLDERS: dict[int, Q] = {}
_HOLDERS_CHUNK = 100

CUSTOMER = Table(
    "customer",
    (
        ("org_id", "bigint"),
        ("customer_id", "bigint"),
        ("loyalty_type", "text"),
        ("status_label", "text"),
        ("merged_into_id", "bigint"),
        ("extended_fields", "jsonb"),
        ("custom_fields", "jsonb"),
        ("associated_with", "text"),
        ("created_from_source", "text"),
        ("fraud_status", "text"),
        ("lifetime_purchases", "numeric"),
        ("registered_at", "timestamptz"),
        ("created_at", "timestamptz"),
        ("updated_at", "timestamptz"),
        ("created_by_till_id", "bigint"),
        ("updated_by_till_id", "bigint"),
        ("version", "integer"),
    ),
)
PROFILE = Table(
    "customer_profile",
    (
        ("org_id", "bigint"),
        ("customer_id", "bigint"),
        ("source", "text"),
        ("account_id", "text"),
        ("first_name", "text"),
        ("last_name", "text"),
        ("comm_channels", "jsonb"),
        ("created_at", "timestamptz"),
        ("updated_at", "timestamptz"),
        ("created_by_till_id", "bigint"),
        ("updated_by_till_id", "bigint"),
    ),
)
IDENTIFIER = Table(
    "customer_identifier",
    (
        ("org_id", "bigint"),
        ("source", "text"),
        ("account_id", "text"),
        ("id_type", "text"),
        ("value", "text"),
        ("customer_id", "bigint"),
        ("created_at", "timestamptz"),
    ),
)
CHANGE = Table(
    "customer_change",
    (
        ("org_id", "bigint"),
        ("customer_id", "bigint"),
        ("kind", "text"),
        ("field_name", "text"),
        ("field_type", "text"),
        ("previous_value", "text"),
        ("current_value", "text"),
        ("source", "text"),
        ("account_id", "text"),
        ("till_id", "bigint"),
        ("request_id", "text"),
        ("surface", "text"),
        ("changed_at", "timestamptz"),
    ),
    sequence=("change_id", "change"),
)
TERM = Table(
    "search_term",
    (
        ("org_id", "bigint"),
        ("term", "text"),
        ("customer_id", "bigint"),
        ("id_type", "text"),
        ("source", "text"),
        ("account_id", "text"),
        ("display_value", "text"),
    ),
)
_UPDATE_CUSTOMER = Q(
    "UPDATE customer SET loyalty_type = :loyalty_type, status_label = :status_label,"
    " extended_fields = :extended_fields, custom_fields = :custom_fields, associated_with = :associated_with,"
    " merged_into_id = :merged_into_id, updated_at = :updated_at, updated_by_till_id = :till_id,"
    " version = :version WHERE org_id = :org_id AND customer_id = :customer_id"
)
_UPDATE_PROFILE = Q(
    "UPDATE customer_profile SET first_name = :first_name, last_name = :last_name,"
    " comm_channels = :comm_channels, updated_at = :updated_at, updated_by_till_id = :updated_by_till_id"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND source = :source AND account_id = :account_id"
)
_DELETE_IDENTIFIER = Q(
    "DELETE FROM customer_identifier WHERE org_id = :org_id AND source = :source"
    " AND account_id = :account_id AND id_type = :id_type AND value = :value"
)
_DELETE_TERMS = Q("DELETE FROM search_term WHERE org_id = :org_id AND customer_id = :customer_id")
_INSERT_CARD = Q(
    "INSERT INTO card (org_id, card_number, card_id, customer_id, series_id, series_code, status_label,"
    " card_external_id, extended_fields, custom_fields, issued_at, status_changed_at, created_at,"
    " created_by_till_id) VALUES (:org_id, :card_number, :card_id, :customer_id, :series_id, :series_code,"
    " :status_label, :card_external_id, :extended_fields, :custom_fields, :issued_at, :status_changed_at,"
    " :created_at, :created_by_till_id)"
)
_UPDATE_CARD = Q(
    "UPDATE card SET customer_id = :customer_id, status_label = :status_label,"
    " card_external_id = :card_external_id, extended_fields = :extended_fields,"
    " custom_fields = :custom_fields, issued_at = :issued_at, status_changed_at = :status_changed_at"
    " WHERE org_id = :org_id AND card_number = :card_number"
)
_RELEASE_CARD = Q(
    "UPDATE card SET customer_id = NULL, status_changed_at = :now WHERE org_id = :org_id"
    " AND card_number = :number"
)
# Each move answers the keys of what it moved: the merge's change set records them
# (customers/merges.py).
_MOVE = {
    table: Q(
        f"UPDATE {table} SET customer_id = :survivor WHERE org_id = :org_id AND customer_id = :victim"
        f" RETURNING {keys}"
    )
    for table, keys in (
        ("customer_profile", "source, account_id"),
        ("customer_identifier", "id_type, value, source, account_id"),
        ("card", "card_id, card_number"),
    )
}
_MOVE_ENROLLMENTS = Q(
    "UPDATE loyalty_enrollment SET customer_id = :survivor WHERE org_id = :org_id"
    " AND customer_id = :victim AND program_id NOT IN (:held*) RETURNING program_id"
)
# The ledger entries of the programs that move go with them, so each summary stays the
# sum of its entries (docs/decisions.md, "Loyalty: merges").
_MOVE_LEDGER = Q(
    "UPDATE points_ledger SET customer_id = :survivor WHERE org_id = :org_id"
    " AND customer_id = :victim AND group_id IS NULL AND program_id NOT IN (:held*) RETURNING entry_id"
)
# And their bills, so cumulativePurchases stays the sum of the bills (and a moved bill can
# be returned by the survivor).
_MOVE_BILLS = Q(
    "UPDATE loyalty_bill SET customer_id = :survivor WHERE org_id = :org_id"
    " AND customer_id = :victim AND program_id NOT IN (:held*) RETURNING bill_id"
)
# What belongs to the person follows them (docs/merges.md): coupons, the opt-ins of the
# source accounts that moved, and user-namespace records. A row whose key the survivor
# already holds stays with the victim: a subscription of the same source account, channel
# and priority, a record of a kind kept once per customer, a primary record of a kind the
# survivor has a primary of.
_MOVE_COUPONS = Q(
    "UPDATE coupon SET customer_id = :survivor WHERE org_id = :org_id AND customer_id = :victim"
    " RETURNING coupon_id"
)
_MOVE_SUBSCRIPTIONS = Q(
    "UPDATE customer_subscription SET customer_id = :survivor WHERE org_id = :org_id"
    " AND customer_id = :victim AND NOT EXISTS (SELECT 1 FROM customer_subscription s"
    " WHERE s.org_id = :org_id AND s.customer_id = :survivor AND s.source = customer_subscription.source"
    " AND s.account_id = customer_subscription.account_id AND s.channel = customer_subscription.channel"
    " AND s.priority = customer_subscription.priority)"
    " RETURNING source, account_id, channel, priority"
)
_MOVE_USER_RECORDS = Q(
    "UPDATE user_record SET customer_id = :survivor WHERE org_id = :org_id AND customer_id = :victim"
    " AND NOT EXISTS (SELECT 1 FROM user_record r WHERE r.org_id = :org_id AND r.customer_id = :survivor"
    " AND r.kind = user_record.kind AND (r.kind IN (:single_kinds*)"
    " OR (r.is_primary = :yes AND user_record.is_primary = :yes)))"
    " RETURNING record_id"
)
# User-namespace record kinds a customer holds once (users/service.py SINGLE_KINDS).
SINGLE_RECORD_KINDS = (
    "personal_info",
    "address",
    "preferences",
    "terms_conditions",
    "geo_coordinates",
    "custom_field",
    "notation",
    "security",
    "two_factor",
)
# Search reads the term index in its own order and stops early: the first `:scan` entries
# of the prefix's range give the page (customers in order of their first matching term)
# and the total (exact below the scan, else a lower bound).
_SEARCH_SCAN = Q(
    "SELECT customer_id FROM search_term WHERE org_id = :org_id AND term >= :low AND term < :high"
    " ORDER BY term, customer_id LIMIT :scan"
)
# Every matching field of the page's customers, through the (org_id, customer_id) index:
# a broad prefix's range can hold every customer of the org.
_SEARCH_MATCHED = Q(
    sqlite="SELECT customer_id, id_type, display_value, source, account_id FROM search_term"
    " INDEXED BY ix_search_term_org_id_customer_id"
    " WHERE org_id = :org_id AND customer_id IN (:ids*) AND term >= :low AND term < :high",
    postgresql="SELECT customer_id, id_type, display_value, source, account_id FROM search_term"
    " WHERE org_id = :org_id AND customer_id IN (:ids*) AND term >= :low AND term < :high",
)
SEARCH_SCAN = 200
_SEARCH_PROFILES = Q(
    "SELECT customer_id, source, account_id, first_name, last_name FROM customer_profile"
    " WHERE org_id = :org_id AND customer_id IN (:ids*)"
)

# What a list of customers shows beside the names: the status, and the mobiles and emails
# (through the (org_id, customer_id) index of customer_identifier).
_LISTING_STATUS = Q(
    "SELECT customer_id, status_label FROM customer WHERE org_id = :org_id AND customer_id IN (:ids*)"
)
_LISTING_CONTACTS = Q(
    "SELECT customer_id, id_type, value FROM customer_identifier"
    " WHERE org_id = :org_id AND customer_id IN (:ids*) AND id_type IN ('mobile', 'email')"
)

# Tills are never renamed, so their code and name are kept per process once read.
_TILL_REFS: dict[tuple[int, int], TillRef] = {}


@dataclass(frozen=True, slots=True)
class CustomerCore:
    """The `customer` row without its children: what a writer checks before it changes."""

    customer_id: int
    loyalty_type: str
    status_label: str
    merged_into_id: int | None
    extended_fields: dict[str, Any]
    custom_fields: dict[str, Any]
    associated_with: str | None
    created_from_source: str
    fraud_status: str
    lifetime_purchases: Decimal
    registered_at: datetime
    created_at: datetime
    updated_at: datetime
    created_by_till_id: int
    updated_by_till_id: int
    version: int


@dataclass(frozen=True, slots=True)
class MovedRows:
    """What a merge gave the survivor: profiles (source, account), identifiers (type,
    value, source, account), cards (id, number), programs, ledger entries and bills."""

    profiles: list[tuple[str, str]]
    identifiers: list[tuple[str, str, str, str]]
    cards: list[tuple[int, str]]
    programs: list[int]
    ledger_entries: list[int]
    bills: list[int]
    coupons: list[int] = field(default_factory=list)
    # "source account channel priority", as the change set writes them.
    subscriptions: list[str] = field(default_factory=list)
    user_records: list[int] = field(default_factory=list)


def _core(r: Row) -> CustomerCore:
    return CustomerCore(
        int(r[0]),
        r[1],
        r[2],
        None if r[3] is None else int(r[3]),
        dict(r[4] or {}),
        dict(r[5] or {}),
        r[6],
        r[7],
        r[8],
        Decimal(r[9]) if not isinstance(r[9], Decimal) else r[9],
        r[10],
        r[11],
        r[12],
        int(r[13]),
        int(r[14]),
        int(r[15]),
    )


def card_view(r: Row, series_names: dict[int, str]) -> CardView:
    return CardView(
        card_id=int(r[0]),
        card_number=r[1],
        series_id=int(r[2]),
        series_code=r[3],
        series_name=series_names.get(int(r[2])),
        status_label=r[4],
        card_external_id=r[5],
        extended_fields=dict(r[6] or {}),
        custom_fields=dict(r[7] or {}),
        issued_at=r[8],
        created_at=r[9],
        status_changed_at=r[10],
        created_by_till_id=int(r[11]),
        customer_id=None if r[12] is None else int(r[12]),
    )


def _dated(values: list[Any], positions: tuple[int, ...]) -> list[Any]:
    """A row read as a JSON array, its timestamps (ISO text in JSON) back to datetimes."""
    out = list(values)
    for i in positions:
        if out[i] is not None:
            out[i] = datetime.fromisoformat(out[i]).astimezone(UTC)
    return out


def core_of(view: CustomerView) -> CustomerCore:
    """The customer row of a record, to change and write back."""
    return CustomerCore(
        view.customer_id,
        view.loyalty_type,
        view.status_label,
        view.merged_into_id,
        view.extended_fields,
        view.custom_fields,
        view.associated_with,
        view.created_from_source,
        view.fraud_status,
        view.lifetime_purchases,
        view.registered_at,
        view.created_at,
        view.updated_at,
        view.created_by.till_id,
        view.updated_by.till_id,
        view.version,
    )


def remember_till(org_id: int, ref: TillRef) -> None:
    if len(_TILL_REFS) > 50_000:
        _TILL_REFS.clear()
    _TILL_REFS[(org_id, ref.till_id)] = ref


def term_rows(org_id: int, customer_id: int, view_profiles: Iterable[ProfileView]) -> list[dict[str, Any]]:
    """The search terms of a customer: case-folded names and identifiers per source account."""
    rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}

    def put(id_type: str, display: str, source: str, account_id: str) -> None:
        if not display:
            return
        term = search_terms(display)
        rows[(term, id_type, source, account_id)] = {
            "org_id": org_id,
            "term": term,
            "customer_id": customer_id,
            "id_type": id_type,
            "source": source,
            "account_id": account_id,
            "display_value": display[:255],
        }

    for p in view_profiles:
        put("firstName", p.first_name, p.source, p.account_id)
        put("lastName", p.last_name, p.source, p.account_id)
        for i in p.identifiers:
            put(i.type, i.value, i.source, i.account_id)
    return list(rows.values())


class CustomerRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    # Locks ---------------------------------------------------------------------------

    async def lock_identifiers(self, org_id: int, pairs: Iterable[tuple[str, str]]) -> None:
        """Serialise writers that claim the same identifier values (PostgreSQL only).

        SQLite's single writer already serialises them. On PostgreSQL, a transaction-scoped
        advisory lock per (org, type, value), taken in sorted order in one statement, makes
        "check, then merge or insert" atomic across sources, where a unique key alone covers
        only one account.
        """
        if self.tx.dialect != "postgresql":
            return
        await self.tx.advisory_locks(sorted({_lock_key(org_id, t, v) for t, v in pairs}))

    # Reads ---------------------------------------------------------------------------

    async def core(self, org_id: int, customer_id: int, *, lock: bool = False) -> CustomerCore | None:
        """The customer row; `lock` holds it for the transaction (PostgreSQL) so concurrent
        writers of one customer apply one after the other."""
        r = await self.tx.one(_CUSTOMER_LOCKED if lock else _CUSTOMER, org_id=org_id, customer_id=customer_id)
        return None if r is None else _core(r)

    async def holders(self, org_id: int, pairs: Iterable[tuple[str, str]]) -> list[Holder]:
        """Every stored identifier with one of these (type, value) pairs, in any source."""
        keys = sorted(set(pairs))
        if not keys:
            return []
        rows = []
        for start in range(0, len(keys), _HOLDERS_CHUNK):
            chunk = keys[start : start + _HOLDERS_CHUNK]
            params: dict[str, Any] = {"org_id": org_id}
            for n, (t, v) in enumerate(chunk):
                params[f"t{n}"], params[f"v{n}"] = t, v
            rows.extend(await self.tx.all(_holders(len(chunk)), **params))
        return [Holder(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]

    async def view(
        self, org_id: int, customer_id: int, series_names: dict[int, str], *, lock: bool = False
    ) -> CustomerView | None:
        """The whole record of one customer: profiles, identifiers, cards, enrollments.

        `lock` holds the customer row for the transaction (PostgreSQL), so concurrent
        writers of one customer apply one after the other. PostgreSQL answers in one
        statement (the children as JSON arrays); SQLite, in-process, in five small ones."""
        if self.tx.dialect == "postgresql":
            # The lock first, in a statement of its own: a statement that waited for a row
            # lock still reads the other tables as they were when it began (READ COMMITTED).
            if lock and not await self.tx.lock_row("customer", org_id, "customer_id", customer_id):
                return None
            r = await self.tx.one(_VIEW, org_id=org_id, customer_id=customer_id)
            if r is None:
                return None
            return await self._assemble(
                org_id,
                _core(r),
                [_dated(p, (5, 6)) for p in r[16] or []],
                [_dated(i, (4,)) for i in r[17] or []],
                [_dated(c, (8, 9, 10)) for c in r[18] or []],
                [_dated(e, (3, 4, 5)) for e in r[19] or []],
                series_names,
            )
        core = await self.core(org_id, customer_id, lock=lock)
        if core is None:
            return None
        tx = self.tx
        return await self._assemble(
            org_id,
            core,
            await tx.all(_PROFILES, org_id=org_id, customer_id=customer_id),
            await tx.all(_IDENTIFIERS, org_id=org_id, customer_id=customer_id),
            await tx.all(_CARDS_OF, org_id=org_id, customer_id=customer_id),
            await tx.all(_ENROLLMENTS, org_id=org_id, customer_id=customer_id),
            series_names,
        )

    async def _assemble(
        self,
        org_id: int,
        core: CustomerCore,
        profiles: Sequence[Row],
        identifiers: Sequence[Row],
        cards: Sequence[Row],
        enrollments: Sequence[Row],
        series_names: dict[int, str],
    ) -> CustomerView:
        cid = core.customer_id
        till_ids = {core.created_by_till_id, core.updated_by_till_id}
        till_ids |= {int(p[7]) for p in profiles} | {int(p[8]) for p in profiles}
        tills = await self.tills(org_id, till_ids)
        by_account: dict[tuple[str, str], list[IdentifierView]] = {}
        for r in sorted(identifiers, key=lambda r: (r[4], r[2], r[3])):
            by_account.setdefault((r[0], r[1]), []).append(IdentifierView(r[2], r[3], r[0], r[1]))
        profile_views = sort_profiles(
            [
                ProfileView(
                    source=p[0],
                    account_id=p[1],
                    first_name=p[2],
                    last_name=p[3],
                    comm_channels=list(p[4] or []),
                    identifiers=by_account.get((p[0], p[1]), []),
                    created_at=p[5],
                    updated_at=p[6],
                    created_by=tills[int(p[7])],
                    updated_by=tills[int(p[8])],
                )
                for p in profiles
            ]
        )
        return CustomerView(
            org_id=org_id,
            customer_id=cid,
            loyalty_type=core.loyalty_type,
            status_label=core.status_label,
            extended_fields=core.extended_fields,
            custom_fields=core.custom_fields,
            associated_with=core.associated_with,
            created_from_source=core.created_from_source,
            fraud_status=core.fraud_status,
            lifetime_purchases=core.lifetime_purchases,
            registered_at=core.registered_at,
            created_at=core.created_at,
            updated_at=core.updated_at,
            created_by=tills[core.created_by_till_id],
            updated_by=tills[core.updated_by_till_id],
            profiles=profile_views,
            cards=sorted((card_view(c, series_names) for c in cards), key=lambda c: c.card_id),
            enrollments=[
                EnrollmentView(
                    int(e[0]),
                    e[1],
                    int(e[2]),
                    e[3],
                    e[4],
                    e[5],
                    int(e[6]),
                    int(e[7]),
                    int(e[8]),
                    int(e[9]),
                    int(e[10]),
                    Decimal(str(e[11])),
                )
                for e in sorted(enrollments, key=lambda e: int(e[0]))
            ],
            merged_into_id=core.merged_into_id,
            version=core.version,
        )

    async def tills(self, org_id: int, till_ids: set[int]) -> dict[int, TillRef]:
        found = {i: _TILL_REFS[(org_id, i)] for i in till_ids if (org_id, i) in _TILL_REFS}
        missing = sorted(till_ids - found.keys())
        if missing:
            for r in await self.tx.all(_TILLS, org_id=org_id, ids=missing):
                ref = TillRef(int(r[0]), r[1], r[2])
                remember_till(org_id, ref)
                found[ref.till_id] = ref
        return found

    async def card(self, org_id: int, card_number: str) -> Row | None:
        return await self.tx.one(_CARD, org_id=org_id, number=card_number)

    async def card_by_external_id(self, org_id: int, external_id: str) -> Row | None:
        return await self.tx.one(_CARD_BY_EXTERNAL, org_id=org_id, external_id=external_id)

    async def count_cards(self, org_id: int, customer_id: int, series_id: int) -> int:
        return int(
            await self.tx.val(_COUNT_CARDS, org_id=org_id, customer_id=customer_id, series_id=series_id)
        )

    async def search(self, org_id: int, q: str, *, limit: int, offset: int) -> SearchPage:
        """Customers with a name or identifier starting with q, by an index range scan."""
        low = search_terms(q)
        high = low + "\U0010ffff"
        tx = self.tx
        scan = max(SEARCH_SCAN, 4 * (offset + limit))
        while True:
            rows = await tx.all(_SEARCH_SCAN, org_id=org_id, low=low, high=high, scan=scan)
            ordered = list(dict.fromkeys(int(r[0]) for r in rows))
            complete = len(rows) < scan
            if complete or len(ordered) >= offset + limit:
                break
            scan *= 4  # a page deep in a broad prefix: read further
        page_ids = ordered[offset : offset + limit]
        if not page_ids:
            return SearchPage(len(ordered), [], exact=complete)
        matched: dict[int, list[IdentifierView]] = {}
        for r in await tx.all(_SEARCH_MATCHED, org_id=org_id, low=low, high=high, ids=page_ids):
            matched.setdefault(int(r[0]), []).append(IdentifierView(r[1], r[2], r[3], r[4]))
        profiles: dict[int, list[tuple[str, str, str, str]]] = {}
        for r in await tx.all(_SEARCH_PROFILES, org_id=org_id, ids=page_ids):
            profiles.setdefault(int(r[0]), []).append((r[1], r[2], r[3], r[4]))
        hits = [
            SearchHit(
                cid,
                sorted(matched.get(cid, []), key=lambda i: (i.type, i.source, i.account_id, i.value)),
                sorted(profiles.get(cid, [])),
            )
            for cid in page_ids
        ]
        return SearchPage(len(ordered), hits, exact=complete)

    async def listing(
        self, org_id: int, ids: Sequence[int]
    ) -> tuple[dict[int, str], dict[int, list[tuple[str, str]]]]:
        """The status and the (mobile | email, value) pairs of each of these customers."""
        if not ids:
            return {}, {}
        statuses = {int(r[0]): r[1] for r in await self.tx.all(_LISTING_STATUS, org_id=org_id, ids=list(ids))}
        contacts: dict[int, list[tuple[str, str]]] = {}
        for r in await self.tx.all(_LISTING_CONTACTS, org_id=org_id, ids=list(ids)):
            contacts.setdefault(int(r[0]), []).append((r[1], r[2]))
        return statuses, contacts

    # Writes --------------------------------------------------------------------------

    async def insert_customer(self, org_id: int, view: CustomerView, till_id: int) -> None:
        await self.tx.insert(
            CUSTOMER,
            [
                {
                    "org_id": org_id,
                    "customer_id": view.customer_id,
                    "loyalty_type": view.loyalty_type,
                    "status_label": view.status_label,
                    "merged_into_id": None,
                    "extended_fields": view.extended_fields,
                    "custom_fields": view.custom_fields,
                    "associated_with": view.associated_with,
                    "created_from_source": view.created_from_source,
                    "fraud_status": view.fraud_status,
                    "lifetime_purchases": view.lifetime_purchases,
                    "registered_at": view.registered_at,
                    "created_at": view.created_at,
                    "updated_at": view.updated_at,
                    "created_by_till_id": till_id,
                    "updated_by_till_id": till_id,
                    "version": view.version,
                }
            ],
        )

    async def update_customer(self, org_id: int, core: CustomerCore) -> None:
        """Write the customer row's changeable columns as `core` holds them."""
        await self.tx.later(
            _UPDATE_CUSTOMER,
            org_id=org_id,
            customer_id=core.customer_id,
            loyalty_type=core.loyalty_type,
            status_label=core.status_label,
            extended_fields=core.extended_fields,
            custom_fields=core.custom_fields,
            associated_with=core.associated_with,
            merged_into_id=core.merged_into_id,
            updated_at=core.updated_at,
            till_id=core.updated_by_till_id,
            version=core.version,
        )

    async def insert_profiles(self, org_id: int, customer_id: int, profiles: Sequence[ProfileView]) -> None:
        await self.tx.insert(PROFILE, [_profile_params(org_id, customer_id, p) for p in profiles])

    async def update_profile(self, org_id: int, customer_id: int, p: ProfileView) -> None:
        await self.tx.later(_UPDATE_PROFILE, **_profile_params(org_id, customer_id, p))

    async def insert_identifiers(
        self, org_id: int, customer_id: int, items: Sequence[IdentifierView], now: datetime
    ) -> None:
        await self.tx.insert(
            IDENTIFIER,
            [
                {
                    "org_id": org_id,
                    "source": i.source,
                    "account_id": i.account_id,
                    "id_type": i.type,
                    "value": i.value,
                    "customer_id": customer_id,
                    "created_at": now,
                }
                for i in items
            ],
        )

    async def delete_identifier(self, org_id: int, item: IdentifierView) -> None:
        await self.tx.later(
            _DELETE_IDENTIFIER,
            org_id=org_id,
            source=item.source,
            account_id=item.account_id,
            id_type=item.type,
            value=item.value,
        )

    async def insert_changes(self, rows: Sequence[dict[str, Any]]) -> None:
        """History rows; their ids come from the `change` sequence as they are written."""
        await self.tx.insert(CHANGE, rows)

    async def insert_terms(self, org_id: int, customer_id: int, profiles: Iterable[ProfileView]) -> None:
        await self.tx.insert(TERM, term_rows(org_id, customer_id, profiles))

    async def rewrite_terms(self, org_id: int, customer_id: int, profiles: Iterable[ProfileView]) -> None:
        """Replace the search terms of one customer with those of its current profiles."""
        await self.tx.later(_DELETE_TERMS, org_id=org_id, customer_id=customer_id)
        await self.insert_terms(org_id, customer_id, profiles)

    async def save_card(self, org_id: int, card: CardView, *, new: bool) -> None:
        params = {
            "org_id": org_id,
            "card_number": card.card_number,
            "customer_id": card.customer_id,
            "status_label": card.status_label,
            "card_external_id": card.card_external_id,
            "extended_fields": card.extended_fields,
            "custom_fields": card.custom_fields,
            "issued_at": card.issued_at,
            "status_changed_at": card.status_changed_at,
        }
        if new:
            params.update(
                card_id=card.card_id,
                series_id=card.series_id,
                series_code=card.series_code,
                created_at=card.created_at,
                created_by_till_id=card.created_by_till_id,
            )
            await self.tx.run(_INSERT_CARD, **params)
        else:
            await self.tx.run(_UPDATE_CARD, **params)

    async def release_card(self, org_id: int, card_number: str, now: datetime) -> None:
        await self.tx.run(_RELEASE_CARD, org_id=org_id, number=card_number, now=now)

    async def move_customer_rows(
        self, org_id: int, victim_id: int, survivor_id: int, survivor_programs: set[int]
    ) -> MovedRows:
        """Give the victim's profiles, identifiers, cards, enrollments (of programs the
        survivor lacks, with their ledger entries and bills), coupons, subscriptions and
        user-namespace records (those whose key the survivor lacks) to the survivor; what moved."""
        tx = self.tx
        keys = {"org_id": org_id, "victim": victim_id, "survivor": survivor_id}
        held = sorted(survivor_programs)
        profiles = await tx.all(_MOVE["customer_profile"], **keys)
        identifiers = await tx.all(_MOVE["customer_identifier"], **keys)
        cards = await tx.all(_MOVE["card"], **keys)
        enrollments = await tx.all(_MOVE_ENROLLMENTS, **keys, held=held)
        entries = await tx.all(_MOVE_LEDGER, **keys, held=held)
        bills = await tx.all(_MOVE_BILLS, **keys, held=held)
        coupons = await tx.all(_MOVE_COUPONS, **keys)
        subscriptions = await tx.all(_MOVE_SUBSCRIPTIONS, **keys)
        records = await tx.all(_MOVE_USER_RECORDS, **keys, single_kinds=list(SINGLE_RECORD_KINDS), yes=True)
        await tx.run(_DELETE_TERMS, org_id=org_id, customer_id=victim_id)
        return MovedRows(
            profiles=sorted((r[0], r[1]) for r in profiles),
            identifiers=sorted((r[0], r[1], r[2], r[3]) for r in identifiers),
            cards=sorted((int(r[0]), r[1]) for r in cards),
            programs=sorted(int(r[0]) for r in enrollments),
            ledger_entries=sorted(int(r[0]) for r in entries),
            bills=sorted(int(r[0]) for r in bills),
            coupons=sorted(int(r[0]) for r in coupons),
            subscriptions=sorted(f"{r[0]} {r[1]} {r[2]} {r[3]}" for r in subscriptions),
            user_records=sorted(int(r[0]) for r in records),
        )


def _profile_params(org_id: int, customer_id: int, p: ProfileView) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "customer_id": customer_id,
        "source": p.source,
        "account_id": p.account_id,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "comm_channels": p.comm_channels,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
        "created_by_till_id": p.created_by.till_id,
        "updated_by_till_id": p.updated_by.till_id,
    }


def _holders(count: int) -> Q:
    q = _HOLDERS.get(count)
    if q is None:
        parts = [
            f"SELECT {_HOLDER_COLUMNS} FROM customer_identifier"
            f" WHERE org_id = :org_id AND id_type = :t{n} AND value = :v{n}"
            for n in range(count)
        ]
        q = _HOLDERS[count] = Q(" UNION ALL ".join(parts))
    return q


def _lock_key(org_id: int, id_type: str, value: str) -> int:
    digest = hashlib.blake2b(f"{org_id}\x00{id_type}\x00{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
