"""Random sequences of loyalty operations through the HTTP API, against a model.

A Hypothesis state machine registers customers (with stated enrollments), records
purchases and returns of random bills and amounts, redeems (more than the balance too:
refused, nothing changes), transfers points, asks for and decides goodwill, enrolls
customers by update, makes families and moves members' points into their pools. After
every step each summary and pool of the org is what the model expects (the set of them
too); at the end of every run `patron loyalty rebuild` finds no difference, each summary's
points are the sum of its ledger entries and each pool's the sum of its own.

The machine runs in a worker thread; each HTTP call is a coroutine sent to the test's
event loop, where the app runs.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from patron.loyalty.rebuild import Difference, rebuild
from tests.conftest import Harness, OrgClient
from tests.loyalty.group_support import family, group_org, number_of, person
from tests.support import mobile, register_body, rows

T = TypeVar("T")

DEFAULT, SECOND, UNCONFIGURED = 1016, 2020, 3030
RATES = {DEFAULT: Decimal("0.1"), SECOND: Decimal(1)}  # tests/loyalty/support.py
REGISTRATION_POINTS = 100
GOLD_THRESHOLD = 1000
RUNS, STEPS = 40, 50  # per engine: well under a minute on either

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(3000), places=2)
programs = st.sampled_from([None, SECOND])  # None: the default program


def tier_for(program_id: int, lifetime: int) -> int | None:
    if program_id == DEFAULT:
        return 2 if lifetime >= GOLD_THRESHOLD else 1
    return 1 if program_id == SECOND else None


def earned(program_id: int, amount: Decimal) -> int:
    return int((amount * RATES[program_id]).to_integral_value(rounding=ROUND_FLOOR))


@dataclass
class Account:
    loyalty: int = 0
    lifetime: int = 0
    redeemed: int = 0
    expired: int = 0
    returned: int = 0
    adjusted: int = 0
    cumulative: Decimal = Decimal(0)
    tier: int | None = None

    def row(self) -> tuple[Any, ...]:
        return (
            self.loyalty,
            self.lifetime,
            self.redeemed,
            self.expired,
            self.returned,
            self.adjusted,
            self.cumulative,
            self.tier,
        )


@dataclass
class Customer:
    id: int
    mobile: str


@dataclass
class Bill:
    customer: Customer
    number: str
    program: int
    amount: Decimal
    earned: int
    returned_amount: Decimal = Decimal(0)
    returned_points: int = 0


@dataclass
class Goodwill:
    customer: Customer
    request_id: int
    program: int
    points: int
    status: str = "PENDING"


@dataclass
class Family:
    group_id: int
    members: tuple[Customer, Customer]  # the parent (the group's primary member), a child


@dataclass
class Model:
    accounts: dict[tuple[int, int], Account] = field(default_factory=dict)
    pools: dict[int, int] = field(default_factory=dict)  # group id -> points (lifetime: the same)

    def account(self, customer_id: int, program_id: int) -> Account:
        return self.accounts.setdefault((customer_id, program_id), Account())

    def balance(self, customer_id: int, program_id: int) -> int:
        found = self.accounts.get((customer_id, program_id))
        return found.loyalty if found else 0

    def post(self, customer_id: int, program_id: int, **moves: int) -> Account:
        """Apply moves to an account (made if new) and lift its tier as the live path does."""
        a = self.account(customer_id, program_id)
        for name, value in moves.items():
            setattr(a, name, getattr(a, name) + value)
        target = tier_for(program_id, a.lifetime)
        if target is not None and (a.tier is None or target > a.tier):
            a.tier = target
        return a


def ledger_machine(harness: Harness, loop: asyncio.AbstractEventLoop) -> type[RuleBasedStateMachine]:
    def call(coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)

    bills_made = itertools.count(1)

    class LedgerMachine(RuleBasedStateMachine):
        customers = Bundle("customers")
        bills = Bundle("bills")
        requests = Bundle("requests")
        families = Bundle("families")

        def __init__(self) -> None:
            super().__init__()
            self.client: OrgClient = call(group_org(harness))
            self.model = Model()
            self.people: list[Customer] = []

        # Calls ------------------------------------------------------------------------

        def send(self, method: str, url: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
            r = call(self.client.request(method, url, json=body, **kwargs))
            return r.status_code, r.json()

        def refused(self, answer: tuple[int, Any], status: int, code: int) -> None:
            assert answer[0] == status, answer
            assert [e["code"] for e in answer[1]["errors"]] == [code], answer

        @staticmethod
        def written(answer: tuple[int, Any]) -> Any:
            assert answer[0] == 200, answer
            return answer[1]

        # Rules ------------------------------------------------------------------------

        @initialize(target=customers)
        def first_customer(self) -> Customer:
            return self.new_customer([])

        @rule(
            target=customers,
            stated=st.lists(
                st.tuples(
                    st.sampled_from([DEFAULT, SECOND, UNCONFIGURED]),
                    st.integers(0, 1200),
                    st.integers(1, 3),
                ),
                max_size=2,
                unique_by=lambda t: t[0],
            ),
        )
        def register(self, stated: list[tuple[int, int, int]]) -> Customer:
            return self.new_customer(stated)

        def new_customer(self, stated: list[tuple[int, int, int]]) -> Customer:
            enrollments = [
                {
                    "programId": p,
                    "loyaltyPoints": points,
                    "tierNumber": min(tier, 2) if p == DEFAULT else tier,
                }
                for p, points, tier in stated
            ]
            number = mobile()
            body = register_body(number)
            if enrollments:
                body["loyaltyProgramEnrollments"] = enrollments
            answer = self.written(self.send("POST", "/v2/customers", body))
            assert answer["sideEffects"] == [{"type": "points", "awardedPoints": REGISTRATION_POINTS}]
            cid = answer["createdId"]
            for e in enrollments:
                self.enrolled(cid, e["programId"], e["loyaltyPoints"], e["tierNumber"])
            self.model.post(cid, DEFAULT, loyalty=REGISTRATION_POINTS, lifetime=REGISTRATION_POINTS)
            customer = Customer(cid, number)
            self.people.append(customer)
            return customer

        def enrolled(self, cid: int, program_id: int, points: int, tier: int) -> None:
            a = self.model.post(cid, program_id, loyalty=points, lifetime=points)
            a.tier = tier if a.tier is None else max(tier, a.tier)

        @rule(
            customer=customers,
            program_id=st.sampled_from([DEFAULT, SECOND, UNCONFIGURED]),
            points=st.integers(0, 1200),
            tier=st.integers(1, 3),
        )
        def enroll_by_update(self, customer: Customer, program_id: int, points: int, tier: int) -> None:
            tier = min(tier, 2) if program_id == DEFAULT else tier
            body = {
                "loyaltyProgramEnrollments": [
                    {"programId": program_id, "tierNumber": tier, "loyaltyPoints": points}
                ]
            }
            self.written(self.send("PUT", f"/v2/customers/{customer.id}", body, params={"source": "INSTORE"}))
            if (customer.id, program_id) not in self.model.accounts:  # an enrollment is never overwritten
                self.enrolled(customer.id, program_id, points, tier)

        @rule(
            target=bills,
            customer=customers,
            amount=amounts,
            program=programs,
            by_identifier=st.booleans(),
            with_key=st.booleans(),
        )
        def purchase(
            self,
            customer: Customer,
            amount: Decimal,
            program: int | None,
            by_identifier: bool,
            with_key: bool,
        ) -> Bill:
            number = f"B{next(bills_made)}"
            who = (
                {"source": "INSTORE", "identifierName": "mobile", "identifierValue": customer.mobile}
                if by_identifier
                else {"id": customer.id}
            )
            body = {"type": "REGULAR", "billNumber": number, "billAmount": float(amount), "customer": who}
            if program is not None:
                body["programId"] = program
            headers = {"Idempotency-Key": f"k-{number}"} if with_key else {}
            answer = self.written(self.send("POST", "/v2/transactions", body, headers=headers))
            if with_key:  # the same request again is answered, not applied, a second time
                assert self.written(self.send("POST", "/v2/transactions", body, headers=headers)) == answer
            program_id = program or DEFAULT
            points = earned(program_id, amount)
            assert answer["sideEffects"] == [{"type": "points", "awardedPoints": points}]
            a = self.model.post(customer.id, program_id, loyalty=points, lifetime=points)
            a.cumulative += amount
            return Bill(customer, number, program_id, amount, points)

        @rule(bill=bills)
        def purchase_the_same_bill_again(self, bill: Bill) -> None:
            body = {
                "type": "REGULAR",
                "billNumber": bill.number,
                "billAmount": 10,
                "customer": {"id": bill.customer.id},
            }
            self.refused(self.send("POST", "/v2/transactions", body), 409, 2003)

        @rule(bill=bills, amount=amounts, name_the_program=st.booleans())
        def give_back(self, bill: Bill, amount: Decimal, name_the_program: bool) -> None:
            body: dict[str, Any] = {
                "type": "RETURN",
                "billNumber": bill.number,
                "billAmount": float(amount),
                "customer": {"id": bill.customer.id},
            }
            if name_the_program:
                body["programId"] = bill.program
            answer = self.send("POST", "/v2/transactions", body)
            left_amount = bill.amount - bill.returned_amount
            if left_amount <= 0:
                self.refused(answer, 422, 2005)
                return
            taken_amount = min(amount, left_amount)
            left_points = bill.earned - bill.returned_points
            take = (
                left_points
                if taken_amount == left_amount
                else min(left_points, earned(bill.program, taken_amount))
            )
            take = max(0, min(take, self.model.balance(bill.customer.id, bill.program)))
            assert self.written(answer)["sideEffects"] == [{"type": "points", "returnedPoints": take}]
            bill.returned_amount += taken_amount
            bill.returned_points += take
            a = self.model.post(bill.customer.id, bill.program, loyalty=-take, lifetime=-take, returned=take)
            a.cumulative -= taken_amount

        @rule(customer=customers, program=programs, points=st.integers(1, 1500))
        def redeem(self, customer: Customer, program: int | None, points: int) -> None:
            body: dict[str, Any] = {"customer": {"id": customer.id}, "points": points}
            if program is not None:
                body["programId"] = program
            answer = self.send("POST", "/v2/points/redeem", body)
            program_id = program or DEFAULT
            balance = self.model.balance(customer.id, program_id)
            if points > balance:
                self.refused(answer, 422, 2010)
                assert f"has {balance} points" in answer[1]["errors"][0]["message"]
                return
            assert self.written(answer)["sideEffects"] == [{"type": "points", "redeemedPoints": points}]
            self.model.post(customer.id, program_id, loyalty=-points, redeemed=points)

        @rule(giver=customers, receiver=customers, program=programs, points=st.integers(1, 800))
        def transfer(self, giver: Customer, receiver: Customer, program: int | None, points: int) -> None:
            body: dict[str, Any] = {"toCustomerId": receiver.id, "points": points}
            if program is not None:
                body["programId"] = program
            answer = self.send("POST", f"/v2/customers/{giver.id}/pointsTransfers", body)
            program_id = program or DEFAULT
            if giver.id == receiver.id:
                self.refused(answer, 422, 2020)
                return
            if points > self.model.balance(giver.id, program_id):
                self.refused(answer, 422, 2010)
                return
            self.written(answer)
            self.model.post(giver.id, program_id, loyalty=-points, adjusted=-points)
            self.model.post(receiver.id, program_id, loyalty=points, adjusted=points)

        @rule(
            target=requests,
            customer=customers,
            program=programs,
            points=st.integers(1, 300),
            auto=st.booleans(),
        )
        def ask_goodwill(self, customer: Customer, program: int | None, points: int, auto: bool) -> Goodwill:
            body: dict[str, Any] = {
                "goodwillType": "POINTS",
                "points": points,
                "reason": "sorry",
                "autoApprove": auto,
            }
            if program is not None:
                body["programId"] = program
            answer = self.written(self.send("POST", f"/v2/customers/{customer.id}/goodwillRequest", body))
            request = Goodwill(customer, answer["createdId"], program or DEFAULT, points)
            if auto:
                request.status = "APPROVED"
                self.model.post(customer.id, request.program, loyalty=points, adjusted=points)
            return request

        @rule(request=requests, approve=st.booleans(), value=st.none() | st.integers(1, 320))
        def decide_goodwill(self, request: Goodwill, approve: bool, value: int | None) -> None:
            body: dict[str, Any] = {"status": "APPROVED" if approve else "REJECTED"}
            if value is not None:
                body["approvedValue"] = value
            url = f"/v2/customers/{request.customer.id}/goodwillRequest/{request.request_id}"
            answer = self.send("PUT", url, body)
            if request.status != "PENDING":
                self.refused(answer, 422, 2026)
                return
            if approve and value is not None and value > request.points:
                self.refused(answer, 422, 2027)
                return
            self.written(answer)
            request.status = body["status"]
            if approve:
                credit = request.points if value is None else value
                self.model.post(request.customer.id, request.program, loyalty=credit, adjusted=credit)

        @rule(target=families)
        def make_family(self) -> Family:
            parent, child = person(), person(first="Becky")
            [answer] = self.written(self.send("POST", "/v2/customers/bulk", [family(parent, [child])]))
            ids = (answer["entity"]["id"], answer["childEntities"][0]["id"])
            members = (Customer(ids[0], number_of(parent)), Customer(ids[1], number_of(child)))
            for m in members:
                self.model.post(m.id, DEFAULT, loyalty=REGISTRATION_POINTS, lifetime=REGISTRATION_POINTS)
                self.people.append(m)
            group_id = answer["entity"]["associationDetails"]["groupId"]
            self.model.pools[group_id] = 0
            return Family(group_id, members)

        @rule(target=customers, group=families)
        def members_shop_too(self, group: Family) -> Any:
            return multiple(*group.members)

        @rule(group=families, child=st.booleans(), program=programs, points=st.integers(1, 300))
        def contribute(self, group: Family, child: bool, program: int | None, points: int) -> None:
            member = group.members[child]
            body: dict[str, Any] = {"customerId": member.id, "points": points}
            if program is not None:
                body["programId"] = program
            answer = self.send("POST", f"/v2/groups/{group.group_id}/contributions", body)
            if program is not None and program != DEFAULT:
                self.refused(answer, 422, 2062)  # the group program pools the default program only
                return
            if points > self.model.balance(member.id, DEFAULT):
                self.refused(answer, 422, 2010)
                return
            assert self.written(answer)["sideEffects"] == [{"type": "points", "contributedPoints": points}]
            self.model.post(member.id, DEFAULT, loyalty=-points, adjusted=-points)
            self.model.pools[group.group_id] += points

        # Checks -----------------------------------------------------------------------

        @invariant()
        def every_summary_is_as_the_model_says(self) -> None:
            found = call(
                rows(
                    harness.app.state.db,
                    "SELECT customer_id, program_id, loyalty_points, lifetime_points, redeemed, expired,"
                    " returned, adjusted, cumulative_purchases, tier_number FROM loyalty_enrollment"
                    " WHERE org_id = :o",
                    o=self.client.org_id,
                )
            )
            stored = {
                (r.customer_id, r.program_id): (
                    r.loyalty_points,
                    r.lifetime_points,
                    r.redeemed,
                    r.expired,
                    r.returned,
                    r.adjusted,
                    Decimal(str(r.cumulative_purchases)).quantize(Decimal("0.01")),
                    r.tier_number,
                )
                for r in found
            }
            expected = {key: a.row() for key, a in self.model.accounts.items()}
            assert stored == expected
            pools = call(
                rows(
                    harness.app.state.db,
                    "SELECT group_id, loyalty_points, lifetime_points FROM customer_group WHERE org_id = :o",
                    o=self.client.org_id,
                )
            )
            assert {r.group_id: (r.loyalty_points, r.lifetime_points) for r in pools} == {
                g: (points, points) for g, points in self.model.pools.items()
            }

        def teardown(self) -> None:
            if not hasattr(self, "client"):
                return
            db, org_id = harness.app.state.db, self.client.org_id
            differences: list[Difference] = []
            report = call(rebuild(db, org_id, dry_run=True, on_difference=differences.append))
            assert differences == []
            assert (report.accounts, report.groups) == (len(self.model.accounts), len(self.model.pools))
            sums = call(
                rows(
                    db,
                    "SELECT customer_id, program_id, SUM(points) AS points FROM points_ledger"
                    " WHERE org_id = :o AND group_id IS NULL GROUP BY customer_id, program_id",
                    o=org_id,
                )
            )
            by_ledger = {(r.customer_id, r.program_id): int(r.points) for r in sums}
            assert by_ledger == {k: a.loyalty for k, a in self.model.accounts.items() if k in by_ledger}
            assert all(a.loyalty == 0 for k, a in self.model.accounts.items() if k not in by_ledger)
            pooled = call(
                rows(
                    db,
                    "SELECT group_id, SUM(points) AS points FROM points_ledger"
                    " WHERE org_id = :o AND group_id IS NOT NULL GROUP BY group_id",
                    o=org_id,
                )
            )
            assert {r.group_id: int(r.points) for r in pooled} == {
                g: p for g, p in self.model.pools.items() if p
            }
            for someone in self.people:  # and the API shows the same points
                status, body = self.send(
                    "GET", f"/v2/customers/{someone.id}", params={"source": "ALL", "embed": "mlp"}
                )
                assert status == 200, body
                shown = {p["programId"]: p["loyaltyPoints"] for p in body["loyaltyProgramDetails"]}
                assert shown == {p: a.loyalty for (c, p), a in self.model.accounts.items() if c == someone.id}

    return LedgerMachine


async def test_random_operations_keep_every_summary_equal_to_its_ledger(harness: Harness) -> None:
    machine = ledger_machine(harness, asyncio.get_running_loop())
    config = settings(
        max_examples=RUNS,
        stateful_step_count=STEPS,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    await asyncio.to_thread(run_state_machine_as_test, machine, settings=config)
