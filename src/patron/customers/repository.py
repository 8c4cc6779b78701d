"""Every query of the customer record. Each method takes the org it acts in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron.customers.domain import search_terms
from patron.customers.views import (
    CardView,
    CustomerView,
    EnrollmentView,
    IdentifierView,
    ProfileView,
    SearchHit,
    SearchPage,
    TillRef,
)
from patron.db.engine import dialect_of
from patron.db.models import (
    Card,
    Customer,
    CustomerChange,
    CustomerIdentifier,
    CustomerProfile,
    LoyaltyEnrollment,
    SearchTerm,
    Till,
)


class CustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # Reads ---------------------------------------------------------------------------

    async def get(self, org_id: int, customer_id: int, *, for_update: bool = False) -> Customer | None:
        stmt = select(Customer).where(Customer.org_id == org_id, Customer.customer_id == customer_id)
        if for_update and dialect_of(self.session) == "postgresql":
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def holders(self, org_id: int, pairs: Iterable[tuple[str, str]]) -> list[CustomerIdentifier]:
        """Every stored identifier with one of these (type, value) pairs, in any source."""
        keys = sorted(set(pairs))
        if not keys:
            return []
        # One index seek on (org_id, id_type, value) per pair, in one round trip: SQLite's
        # planner scans the org's identifiers for a row-value IN list or an OR of pairs.
        parts = [
            select(CustomerIdentifier).where(
                CustomerIdentifier.org_id == org_id,
                CustomerIdentifier.id_type == t,
                CustomerIdentifier.value == v,
            )
            for t, v in keys
        ]
        stmt = parts[0] if len(parts) == 1 else select(CustomerIdentifier).from_statement(union_all(*parts))
        return list((await self.session.execute(stmt)).scalars())

    async def identifiers_of(self, org_id: int, customer_id: int) -> list[CustomerIdentifier]:
        stmt = select(CustomerIdentifier).where(
            CustomerIdentifier.org_id == org_id, CustomerIdentifier.customer_id == customer_id
        )
        return list((await self.session.execute(stmt)).scalars())

    async def profiles_of(self, org_id: int, customer_id: int) -> list[CustomerProfile]:
        stmt = select(CustomerProfile).where(
            CustomerProfile.org_id == org_id, CustomerProfile.customer_id == customer_id
        )
        return list((await self.session.execute(stmt)).scalars())

    async def card(self, org_id: int, card_number: str) -> Card | None:
        stmt = select(Card).where(Card.org_id == org_id, Card.card_number == card_number)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def card_by_external_id(self, org_id: int, external_id: str) -> Card | None:
        stmt = select(Card).where(Card.org_id == org_id, Card.card_external_id == external_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def count_cards(self, org_id: int, customer_id: int, series_id: int) -> int:
        stmt = select(func.count()).where(
            Card.org_id == org_id, Card.customer_id == customer_id, Card.series_id == series_id
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def enrollments_of(self, org_id: int, customer_id: int) -> list[LoyaltyEnrollment]:
        stmt = select(LoyaltyEnrollment).where(
            LoyaltyEnrollment.org_id == org_id, LoyaltyEnrollment.customer_id == customer_id
        )
        return list((await self.session.execute(stmt)).scalars())

    async def view(self, org_id: int, customer_id: int, series_names: dict[int, str]) -> CustomerView | None:
        """Load the whole record of one customer: profiles, identifiers, cards, enrollments."""
        customer = await self.get(org_id, customer_id)
        if customer is None:
            return None
        profiles = await self.profiles_of(org_id, customer_id)
        identifiers = await self.identifiers_of(org_id, customer_id)
        cards_stmt = select(Card).where(Card.org_id == org_id, Card.customer_id == customer_id)
        cards = list((await self.session.execute(cards_stmt)).scalars())
        enrollments = await self.enrollments_of(org_id, customer_id)
        till_ids = {customer.created_by_till_id, customer.updated_by_till_id}
        till_ids |= {p.created_by_till_id for p in profiles} | {p.updated_by_till_id for p in profiles}
        tills = await self.tills(org_id, till_ids)

        by_account: dict[tuple[str, str], list[IdentifierView]] = {}
        for row in sorted(identifiers, key=lambda r: (r.created_at, r.id_type, r.value)):
            by_account.setdefault((row.source, row.account_id), []).append(
                IdentifierView(row.id_type, row.value, row.source, row.account_id)
            )
        profile_views = [
            ProfileView(
                source=p.source,
                account_id=p.account_id,
                first_name=p.first_name,
                last_name=p.last_name,
                comm_channels=list(p.comm_channels or []),
                identifiers=by_account.get((p.source, p.account_id), []),
                created_at=p.created_at,
                updated_at=p.updated_at,
                created_by=tills[p.created_by_till_id],
                updated_by=tills[p.updated_by_till_id],
            )
            for p in sorted(profiles, key=lambda p: (p.created_at, p.source, p.account_id))
        ]
        return CustomerView(
            org_id=org_id,
            customer_id=customer.customer_id,
            loyalty_type=customer.loyalty_type,
            status_label=customer.status_label,
            extended_fields=dict(customer.extended_fields or {}),
            custom_fields=dict(customer.custom_fields or {}),
            associated_with=customer.associated_with,
            created_from_source=customer.created_from_source,
            fraud_status=customer.fraud_status,
            lifetime_purchases=customer.lifetime_purchases,
            registered_at=customer.registered_at,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
            created_by=tills[customer.created_by_till_id],
            updated_by=tills[customer.updated_by_till_id],
            profiles=profile_views,
            cards=[_card_view(c, series_names) for c in sorted(cards, key=lambda c: c.card_id)],
            enrollments=[
                EnrollmentView(
                    e.program_id,
                    e.tier_number,
                    e.loyalty_points,
                    e.tier_expires_at,
                    e.points_expire_at,
                    e.enrolled_at,
                )
                for e in sorted(enrollments, key=lambda e: e.program_id)
            ],
        )

    async def tills(self, org_id: int, till_ids: set[int]) -> dict[int, TillRef]:
        stmt = select(Till.till_id, Till.code, Till.name).where(
            Till.org_id == org_id, Till.till_id.in_(sorted(till_ids))
        )
        return {r.till_id: TillRef(r.till_id, r.code, r.name) for r in await self.session.execute(stmt)}

    async def search(self, org_id: int, q: str, *, limit: int, offset: int) -> SearchPage:
        """Customers with a name or identifier starting with q, by an index range scan."""
        low = search_terms(q)
        high = low + "\U0010ffff"
        match = and_(SearchTerm.org_id == org_id, SearchTerm.term >= low, SearchTerm.term < high)
        total_stmt = select(func.count(func.distinct(SearchTerm.customer_id))).where(match)
        total = int((await self.session.execute(total_stmt)).scalar_one())
        if total == 0 or offset >= total:
            return SearchPage(total, [])
        ids_stmt = (
            select(SearchTerm.customer_id)
            .where(match)
            .group_by(SearchTerm.customer_id)
            .order_by(SearchTerm.customer_id)
            .limit(limit)
            .offset(offset)
        )
        page_ids = [int(r[0]) for r in await self.session.execute(ids_stmt)]
        matched_stmt = select(SearchTerm).where(match, SearchTerm.customer_id.in_(page_ids))
        matched: dict[int, list[IdentifierView]] = {}
        for row in (await self.session.execute(matched_stmt)).scalars():
            matched.setdefault(row.customer_id, []).append(
                IdentifierView(row.id_type, row.display_value, row.source, row.account_id)
            )
        profiles_stmt = select(
            CustomerProfile.customer_id,
            CustomerProfile.source,
            CustomerProfile.account_id,
            CustomerProfile.first_name,
            CustomerProfile.last_name,
        ).where(CustomerProfile.org_id == org_id, CustomerProfile.customer_id.in_(page_ids))
        profiles: dict[int, list[tuple[str, str, str, str]]] = {}
        for r in await self.session.execute(profiles_stmt):
            profiles.setdefault(r.customer_id, []).append((r.source, r.account_id, r.first_name, r.last_name))
        hits = [
            SearchHit(
                cid,
                sorted(matched.get(cid, []), key=lambda i: (i.type, i.source, i.account_id, i.value)),
                sorted(profiles.get(cid, [])),
            )
            for cid in page_ids
        ]
        return SearchPage(total, hits)

    # Writes --------------------------------------------------------------------------

    async def insert_identifiers(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(CustomerIdentifier), list(rows))

    async def delete_identifier(
        self, org_id: int, source: str, account_id: str, id_type: str, value: str
    ) -> None:
        await self.session.execute(
            delete(CustomerIdentifier).where(
                CustomerIdentifier.org_id == org_id,
                CustomerIdentifier.source == source,
                CustomerIdentifier.account_id == account_id,
                CustomerIdentifier.id_type == id_type,
                CustomerIdentifier.value == value,
            )
        )

    async def insert_changes(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(CustomerChange), list(rows))

    async def reindex(self, org_id: int, customer_id: int) -> None:
        """Rewrite the search terms of one customer from its profiles and identifiers."""
        await self.session.execute(
            delete(SearchTerm).where(SearchTerm.org_id == org_id, SearchTerm.customer_id == customer_id)
        )
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

        for p in await self.profiles_of(org_id, customer_id):
            put("firstName", p.first_name, p.source, p.account_id)
            put("lastName", p.last_name, p.source, p.account_id)
        for i in await self.identifiers_of(org_id, customer_id):
            put(i.id_type, i.value, i.source, i.account_id)
        if rows:
            await self.session.execute(insert(SearchTerm), list(rows.values()))

    async def move_customer_rows(self, org_id: int, victim_id: int, survivor_id: int) -> None:
        """Give the victim's profiles, identifiers, cards and enrollments to the survivor."""
        for model in (CustomerProfile, CustomerIdentifier, Card):
            await self.session.execute(
                update(model)
                .where(model.org_id == org_id, model.customer_id == victim_id)
                .values(customer_id=survivor_id)
            )
        held = {e.program_id for e in await self.enrollments_of(org_id, survivor_id)}
        conditions = [LoyaltyEnrollment.org_id == org_id, LoyaltyEnrollment.customer_id == victim_id]
        if held:
            conditions.append(LoyaltyEnrollment.program_id.not_in(sorted(held)))
        await self.session.execute(
            update(LoyaltyEnrollment).where(*conditions).values(customer_id=survivor_id)
        )
        await self.session.execute(
            delete(SearchTerm).where(SearchTerm.org_id == org_id, SearchTerm.customer_id == victim_id)
        )

    def touch(self, customer: Customer, till_id: int, now: datetime) -> None:
        customer.updated_at = now
        customer.updated_by_till_id = till_id
        customer.version += 1


def _card_view(c: Card, series_names: dict[int, str]) -> CardView:
    return CardView(
        card_id=c.card_id,
        card_number=c.card_number,
        series_id=c.series_id,
        series_code=c.series_code,
        series_name=series_names.get(c.series_id),
        status_label=c.status_label,
        card_external_id=c.card_external_id,
        extended_fields=dict(c.extended_fields or {}),
        custom_fields=dict(c.custom_fields or {}),
        issued_at=c.issued_at,
        created_at=c.created_at,
        status_changed_at=c.status_changed_at,
        created_by_till_id=c.created_by_till_id,
        customer_id=c.customer_id,
    )
