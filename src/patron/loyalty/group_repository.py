"""The statements of groups (hierarchies): the groups, their members, their points pools.

A group is headed by its primary customer and belongs to one hierarchy (`hierarchy_code`);
its other members are `group_member` rows. Within one hierarchy a customer either heads one
group or is a member of one group (loyalty/groups.py keeps that rule, under the locks of
the customers concerned), so "where does this customer stand in this hierarchy" is one
statement over the unique key of `customer_group` and the customer index of `group_member`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from patron.db.sql import Q
from patron.db.tx import Row, Table, Tx

_GROUP_COLUMNS = (
    "group_id, name, hierarchy_code, group_program_id, primary_customer_id, primary_role,"
    " loyalty_points, lifetime_points, promised_points"
)
_G_COLUMNS = ", ".join(f"g.{c.strip()}" for c in _GROUP_COLUMNS.split(","))

# The group a customer heads (kind P) and the group it is a member of (kind M) in one
# hierarchy, with its role there.
_STANDING = Q(
    f"SELECT 'P', {_GROUP_COLUMNS}, primary_role FROM customer_group"
    " WHERE org_id = :org_id AND primary_customer_id = :customer_id AND hierarchy_code = :code"
    f" UNION ALL SELECT 'M', {_G_COLUMNS}, m.role_code FROM group_member m"
    " JOIN customer_group g ON g.org_id = m.org_id AND g.group_id = m.group_id"
    " WHERE m.org_id = :org_id AND m.customer_id = :customer_id AND g.hierarchy_code = :code"
)
# A group and the role of one customer in it (NULL: not a member; the primary is no row).
_GROUP_AND_ROLE = Q(
    f"SELECT {_G_COLUMNS}, (SELECT m.role_code FROM group_member m WHERE m.org_id = g.org_id"
    " AND m.group_id = g.group_id AND m.customer_id = :customer_id)"
    " FROM customer_group g WHERE g.org_id = :org_id AND g.group_id = :group_id"
)
_REMOVE_MEMBER = Q(
    "DELETE FROM group_member WHERE org_id = :org_id AND group_id = :group_id AND customer_id = :customer_id"
)
_SET_ROLE = Q(
    "UPDATE group_member SET role_code = :role WHERE org_id = :org_id AND group_id = :group_id"
    " AND customer_id = :customer_id"
)
_UPDATE_GROUP = Q(
    "UPDATE customer_group SET name = :name, primary_role = :role, updated_at = :now"
    " WHERE org_id = :org_id AND group_id = :group_id"
)
_SET_POOL = Q(
    "UPDATE customer_group SET loyalty_points = :loyalty_points, lifetime_points = :lifetime_points,"
    " updated_at = :now WHERE org_id = :org_id AND group_id = :group_id"
)

# The members of the groups a customer heads, one page in the order asked for: created or
# last updated (the member customers'), ascending or descending, ties by customer id.
_SORT_COLUMNS = {"createdon": "c.created_at", "lastUpdatedOn": "c.updated_at"}
_ORDERS = ("ASC", "DESC")


def _children(column: str, order: str, one_hierarchy: bool) -> Q:
    where = " AND g.hierarchy_code = :code" if one_hierarchy else ""
    return Q(
        "SELECT m.customer_id, m.role_code, g.group_id, g.hierarchy_code, g.group_program_id"
        " FROM customer_group g"
        " JOIN group_member m ON m.org_id = g.org_id AND m.group_id = g.group_id"
        " JOIN customer c ON c.org_id = m.org_id AND c.customer_id = m.customer_id"
        f" WHERE g.org_id = :org_id AND g.primary_customer_id = :customer_id{where}"
        f" ORDER BY {column} {order}, m.customer_id {order} LIMIT :limit OFFSET :offset"
    )


_CHILDREN = {
    (sort, order, one): _children(column, order, one)
    for sort, column in _SORT_COLUMNS.items()
    for order in _ORDERS
    for one in (False, True)
}
_COUNT_CHILDREN = {
    one: Q(
        "SELECT COUNT(*) FROM customer_group g JOIN group_member m ON m.org_id = g.org_id"
        " AND m.group_id = g.group_id WHERE g.org_id = :org_id AND g.primary_customer_id = :customer_id"
        + (" AND g.hierarchy_code = :code" if one else "")
    )
    for one in (False, True)
}
SORTS = tuple(_SORT_COLUMNS)
ORDERS = _ORDERS

GROUP = Table(
    "customer_group",
    (
        ("org_id", "bigint"),
        ("group_id", "bigint"),
        ("name", "text"),
        ("hierarchy_code", "text"),
        ("group_program_id", "bigint"),
        ("primary_customer_id", "bigint"),
        ("primary_role", "text"),
        ("loyalty_points", "bigint"),
        ("lifetime_points", "bigint"),
        ("promised_points", "bigint"),
        ("created_at", "timestamptz"),
        ("updated_at", "timestamptz"),
    ),
)
MEMBER = Table(
    "group_member",
    (
        ("org_id", "bigint"),
        ("group_id", "bigint"),
        ("customer_id", "bigint"),
        ("role_code", "text"),
        ("joined_at", "timestamptz"),
    ),
)


@dataclass(slots=True)
class Group:
    """A group as read (or as just created), with its pool's summary."""

    group_id: int
    name: str
    hierarchy_code: str
    group_program_id: int | None
    primary_customer_id: int
    primary_role: str
    loyalty_points: int = 0
    lifetime_points: int = 0
    promised_points: int = 0


def _group(r: Row, o: int = 0) -> Group:
    return Group(
        group_id=int(r[o]),
        name=r[o + 1],
        hierarchy_code=r[o + 2],
        group_program_id=None if r[o + 3] is None else int(r[o + 3]),
        primary_customer_id=int(r[o + 4]),
        primary_role=r[o + 5],
        loyalty_points=int(r[o + 6]),
        lifetime_points=int(r[o + 7]),
        promised_points=int(r[o + 8]),
    )


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a customer stands in one hierarchy: the group it heads, or the group it is a
    member of and its role there (at most one of the two, by the rule of groups.py)."""

    heads: Group | None = None
    member_of: Group | None = None
    role: str = ""


@dataclass(frozen=True, slots=True)
class Child:
    customer_id: int
    role: str
    group_id: int
    hierarchy_code: str
    group_program_id: int | None


class GroupRepository:
    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def standing(self, org_id: int, customer_id: int, hierarchy_code: str) -> Standing:
        rows = await self.tx.all(_STANDING, org_id=org_id, customer_id=customer_id, code=hierarchy_code)
        heads = next((_group(r, 1) for r in rows if r[0] == "P"), None)
        joined = next((r for r in rows if r[0] == "M"), None)
        if joined is None:
            return Standing(heads=heads, role=heads.primary_role if heads else "")
        return Standing(heads=heads, member_of=_group(joined, 1), role=joined[10])

    async def group_and_role(
        self, org_id: int, group_id: int, customer_id: int
    ) -> tuple[Group, str | None] | None:
        """A group and the role of a customer in it (None: not a member or the primary)."""
        r = await self.tx.one(_GROUP_AND_ROLE, org_id=org_id, group_id=group_id, customer_id=customer_id)
        return None if r is None else (_group(r), r[9])

    async def lock(self, org_id: int, group_id: int) -> bool:
        """Hold the group row (its pool) for the transaction; whether it exists."""
        return await self.tx.lock_row("customer_group", org_id, "group_id", group_id)

    async def create(self, org_id: int, group: Group, now: datetime) -> None:
        await self.tx.insert(
            GROUP,
            [
                {
                    "org_id": org_id,
                    "group_id": group.group_id,
                    "name": group.name,
                    "hierarchy_code": group.hierarchy_code,
                    "group_program_id": group.group_program_id,
                    "primary_customer_id": group.primary_customer_id,
                    "primary_role": group.primary_role,
                    "loyalty_points": group.loyalty_points,
                    "lifetime_points": group.lifetime_points,
                    "promised_points": group.promised_points,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )

    async def update(self, org_id: int, group: Group, now: datetime) -> None:
        """Store the group's own data (name, the primary's role)."""
        await self.tx.later(
            _UPDATE_GROUP,
            org_id=org_id,
            group_id=group.group_id,
            name=group.name,
            role=group.primary_role,
            now=now,
        )

    async def save_pool(self, org_id: int, group: Group, now: datetime) -> None:
        await self.tx.later(
            _SET_POOL,
            org_id=org_id,
            group_id=group.group_id,
            loyalty_points=group.loyalty_points,
            lifetime_points=group.lifetime_points,
            now=now,
        )

    async def add_member(
        self, org_id: int, group_id: int, customer_id: int, role: str, now: datetime
    ) -> None:
        await self.tx.insert(
            MEMBER,
            [
                {
                    "org_id": org_id,
                    "group_id": group_id,
                    "customer_id": customer_id,
                    "role_code": role,
                    "joined_at": now,
                }
            ],
        )

    async def remove_member(self, org_id: int, group_id: int, customer_id: int) -> None:
        await self.tx.later(_REMOVE_MEMBER, org_id=org_id, group_id=group_id, customer_id=customer_id)

    async def set_role(self, org_id: int, group_id: int, customer_id: int, role: str) -> None:
        await self.tx.later(_SET_ROLE, org_id=org_id, group_id=group_id, customer_id=customer_id, role=role)

    async def children(
        self,
        org_id: int,
        customer_id: int,
        hierarchy_code: str | None,
        *,
        sort_by: str,
        order: str,
        limit: int,
        offset: int,
    ) -> tuple[int, list[Child]]:
        """The members of the groups a customer heads (in one hierarchy, or all): how many
        there are, and one page of them."""
        one = hierarchy_code is not None
        params: dict[str, object] = {"org_id": org_id, "customer_id": customer_id}
        if one:
            params["code"] = hierarchy_code
        total = int(await self.tx.val(_COUNT_CHILDREN[one], **params) or 0)
        if total <= offset:
            return total, []
        rows = await self.tx.all(_CHILDREN[(sort_by, order, one)], **params, limit=limit, offset=offset)
        return total, [
            Child(int(r[0]), r[1], int(r[2]), r[3], None if r[4] is None else int(r[4])) for r in rows
        ]
