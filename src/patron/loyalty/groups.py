"""Groups (hierarchies) of customers: Associate Customer with Customer/Hierarchy, Update
Association Details and Get Customers (Group Loyalty) of seed 003 (003:L596-2140).

A group belongs to one hierarchy (`hierarchyCode`, which a group program of the org
configuration must list: its points pool follows that program) and is headed by its
primary customer; its other members each have a role code. The rules:

- Within one hierarchy a customer heads at most one group or is a member of at most one
  group, never both: a hierarchy is two levels, a parent and its children. A child already
  in another group of the hierarchy is refused by Associate (2064) and moved by Update
  Association Details; a customer heading a group cannot become a member (2066) nor a
  member head one (2067); nobody is a member of its own group (2065).
- Customers are registered if new and reused if known (GRP-1): an item whose identifiers a
  customer holds in the item's own source is that customer, unchanged; one held in another
  source only is registered into it (the registration merge, 8050); otherwise a new
  customer is registered. Registration's own rules, merges and customerAdded apply.
- The bulk operation keeps a customer whose mobile is invalid: the mobile is dropped with
  warning 8056 (8058 for a mobile channel), as the seed's sample shows (GRP-4).
- Roles: the item's `roleCode` (default PRIMARY for a parent, MEMBER for a member), the
  children's `childRoleCode` (default MEMBER). Associate never changes a role it finds
  (warning 2068); Update Association Details does.

Transactions: a batch is not one transaction. Each item of a plain batch registration
commits on its own; an association commits the parent and its group first, then each child
on its own, so a failing child fails alone (its error in `childEntities`). The customers
concerned are locked in ascending id order before any rule is read (lock_row), so two
requests moving the same customers apply one after the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from patron.context import RequestContext
from patron.customers import catalog
from patron.customers.addressing import customer_id_by_identifier, resolve_account
from patron.customers.cards import series_names
from patron.customers.commands import ProfileInput, RegisterCustomer
from patron.customers.domain import InvalidIdentifier, normalise_identifier
from patron.customers.inputs import clean_identifier
from patron.customers.register import (
    REGISTER_CODES,
    REQUIRED_CODES,
    RegistrationPlan,
    apply_registration,
    plan_registration,
)
from patron.customers.views import CustomerView
from patron.db.base import utcnow
from patron.db.engine import Database
from patron.db.tx import IntegrityError
from patron.db.uow import UnitOfWork
from patron.errors import Conflict, InvalidInput, NotFound, PatronError, RuleViolation, Warning_
from patron.loyalty.group_commands import (
    AssociateCustomers,
    Association,
    AssociationChange,
    BulkCustomer,
    ListChildren,
    UpdateAssociations,
)
from patron.loyalty.group_events import (
    GroupCreated,
    GroupMemberAdded,
    GroupMemberRemoved,
    GroupRef,
    GroupUpdated,
    Member,
)
from patron.loyalty.group_repository import ORDERS, SORTS, Child, Group
from patron.loyalty.service import SideEffect
from patron.orgs.config import GroupProgram, OrgConfig

# Customers one request may name: the items, their childCustomers and parentCustomer.
BATCH_LIMIT = 100
PRIMARY_ROLE = "PRIMARY"
MEMBER_ROLE = "MEMBER"
PARENT_ENTITY = "parentCustomer"
MAX_PAGE = 100
MERGED = 8050  # registration's warning: the customer was registered into its holder
_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,100}")


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enlisted:
    """A customer an association registered or found, as it stands after it."""

    customer: CustomerView
    new: bool
    warnings: tuple[Warning_, ...] = ()
    side_effects: tuple[SideEffect, ...] = ()


@dataclass(frozen=True, slots=True)
class Placed:
    """A customer and its place in a group."""

    enlisted: Enlisted
    group: Group
    role: str
    group_created: bool = False


@dataclass(frozen=True, slots=True)
class Failed:
    error: PatronError


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One item of Associate Customer with Customer/Hierarchy, or its error."""

    referral_code: str
    entity: Enlisted | None = None
    error: PatronError | None = None
    association: Association | None = None
    placed: Placed | None = None  # the item in its group (primary, or member of `parent`'s)
    parent: Placed | None = None  # the primary, when the item named its parentCustomer
    children: tuple[Placed | Failed, ...] = ()


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """One item of Update Association Details, or its error."""

    change: AssociationChange
    customer: CustomerView | None = None
    error: PatronError | None = None
    group: Group | None = None
    role: str = ""
    parent: CustomerView | None = None  # the group's primary when the customer is a member


@dataclass(frozen=True, slots=True)
class ChildrenPage:
    total: int
    children: list[tuple[CustomerView, Child]] = field(default_factory=list)
    source: str = catalog.ALL_SOURCES
    account_id: str = ""


# --- checks made before anything is written ------------------------------------------------


def group_program(config: OrgConfig, hierarchy_code: str) -> GroupProgram:
    """The group program a hierarchy's groups pool into; an unknown hierarchy is refused."""
    code = (hierarchy_code or "").strip()
    program = config.group_program_for(code) if code else None
    if program is None:
        raise InvalidInput(2063, x=code or '""')
    return program


def role_code(raw: str | None, name: str = "roleCode") -> str | None:
    """A role code as given (None when absent): 1 to 100 letters, digits, `_`, `.` or `-`."""
    if raw is None or not raw.strip():
        return None
    role = raw.strip()
    if not _CODE.fullmatch(role):
        raise InvalidInput(400, detail=f"{name} must be 1 to 100 letters, digits, '_', '.' or '-'.")
    return role


def group_name(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    name = raw.strip()
    if len(name) > 200:
        raise InvalidInput(400, detail="groupName is longer than 200 characters.")
    return name


def check_batch(count: int) -> None:
    if count < 1:
        raise InvalidInput(400, detail="The body must be an array of at least one customer.")
    if count > BATCH_LIMIT:
        raise InvalidInput(
            1060,
            detail=f"At most {BATCH_LIMIT} customers per request (items, childCustomers and"
            f" parentCustomer each count); this one names {count}.",
        )


def customers_named(cmd: AssociateCustomers) -> int:
    count = 0
    for item in cmd.items:
        count += 1
        if item.association is not None:
            count += len(item.association.children) + (item.association.parent is not None)
    return count


def _valid_mobile(value: object, config: OrgConfig) -> bool:
    try:
        normalise_identifier("mobile", value, config)
    except InvalidIdentifier:
        return False
    return True


def drop_invalid_mobiles(cmd: RegisterCustomer, config: OrgConfig) -> tuple[RegisterCustomer, list[Warning_]]:
    """GRP-4: an invalid mobile identifier or channel is dropped with 8056 or 8058, unless
    it is all a profile has to be registered by (registration then refuses it, 1001)."""
    warnings: list[Warning_] = []
    profiles: list[ProfileInput] = []
    for p in cmd.profiles:
        identifiers = tuple(
            i
            for i in p.identifiers
            if catalog.canonical_type(str(i.type or "")) != "mobile" or _valid_mobile(i.value, config)
        )
        if identifiers:
            dropped = [i for i in p.identifiers if i not in identifiers]
            warnings.extend(Warning_.of(8056, detail=f"'{i.value}' is dropped.") for i in dropped)
        else:
            identifiers = p.identifiers
        channels = p.comm_channels
        if channels is not None:
            kept = tuple(ch for ch in channels if ch.type != "mobile" or _valid_mobile(ch.value, config))
            dropped_channels = [ch for ch in channels if ch not in kept]
            warnings.extend(Warning_.of(8058, detail=f"'{ch.value}' is dropped.") for ch in dropped_channels)
            channels = kept
        profiles.append(replace(p, identifiers=identifiers, comm_channels=channels))
    return replace(cmd, profiles=tuple(profiles)), warnings


def plan_customer(ctx: RequestContext, cmd: RegisterCustomer) -> RegistrationPlan:
    """Registration's own planning, after the bulk operation's mobile leniency."""
    cleaned, warnings = drop_invalid_mobiles(cmd, ctx.config)
    try:
        plan = plan_registration(ctx, cleaned)
    except InvalidInput as exc:
        dropped = next((w for w in warnings if w.code == 8056), None)
        if exc.code == REQUIRED_CODES["mobile"] and dropped is not None:
            # The mobile the org requires was there, but invalid: say that, not "required".
            raise InvalidInput(REGISTER_CODES["mobile"], detail=dropped.message) from exc
        raise
    return replace(plan, warnings=(*warnings, *plan.warnings))


def _inherit(cmd: RegisterCustomer, loyalty_type: str) -> RegisterCustomer:
    """A child or parent without loyaltyInfo takes the item's (003:L686 has none)."""
    return cmd if cmd.loyalty_type else replace(cmd, loyalty_type=loyalty_type)


def _as_error(exc: Exception) -> PatronError:
    if isinstance(exc, PatronError):
        return exc
    return Conflict(409, "A concurrent request changed this customer first; send the item again.")


# --- registering or finding the customers ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Known:
    """Who already holds a planned customer's identifiers, and whether in its own source."""

    plan: RegistrationPlan
    customer_id: int | None
    same_source: bool


async def _known(uow: UnitOfWork, ctx: RequestContext, plan: RegistrationPlan) -> _Known:
    pairs = [(i.type, i.value) for p in plan.profiles for i in p.identifiers]
    await uow.customers.lock_identifiers(ctx.org_id, pairs)
    holders = await uow.customers.holders(ctx.org_id, pairs)
    ids = {h.customer_id for h in holders}
    if len(ids) > 1:
        raise Conflict(8053)
    if not ids:
        return _Known(plan, None, False)
    mine = {(p.source, p.account_id) for p in plan.profiles}
    return _Known(plan, ids.pop(), any((h.source, h.account_id) in mine for h in holders))


async def lock_customers(uow: UnitOfWork, ctx: RequestContext, ids: Iterable[int | None]) -> None:
    """Hold the customers an association changes, in ascending id order."""
    for customer_id in sorted({i for i in ids if i is not None}):
        await uow.tx.lock_row("customer", ctx.org_id, "customer_id", customer_id)


async def customer_view(uow: UnitOfWork, ctx: RequestContext, customer_id: int) -> CustomerView:
    view = await uow.customers.view(ctx.org_id, customer_id, series_names(ctx.config))
    if view is None:
        raise NotFound(8015)
    if view.merged_into_id is not None:
        raise NotFound(8069, detail=f"Use customer id {view.merged_into_id}.")
    return view


async def _enlist(uow: UnitOfWork, ctx: RequestContext, known: _Known) -> Enlisted:
    """Reuse the known customer, or register (a new customer or a merge into the holder)."""
    plan = known.plan
    if known.customer_id is not None and known.same_source:
        return Enlisted(await customer_view(uow, ctx, known.customer_id), False, plan.warnings)
    registered = await apply_registration(uow, ctx, plan)
    view = await customer_view(uow, ctx, registered.customer_id)
    return Enlisted(
        view, known.customer_id is None, tuple(registered.warnings), tuple(registered.side_effects)
    )


async def _find(
    uow: UnitOfWork, ctx: RequestContext, profiles: tuple[ProfileInput, ...], source: str, account: str
) -> int:
    """The one customer holding the identifiers of these profiles (in the source, unless ALL)."""
    pairs = []
    for p in profiles:
        for item in p.identifiers:
            ident = clean_identifier(item, ctx.config, {})
            pairs.append((ident.type, ident.value))
    if not pairs:
        raise InvalidInput(400, detail="profiles: name the customer by its identifiers.")
    holders = await uow.customers.holders(ctx.org_id, pairs)
    ids = {
        h.customer_id
        for h in holders
        if source == catalog.ALL_SOURCES or (h.source, h.account_id) == (source, account)
    }
    if not ids:
        raise NotFound(8015)
    if len(ids) > 1:
        raise Conflict(2070)
    return ids.pop()


# --- the group rules -----------------------------------------------------------------------


def _ref(group: Group, primary: CustomerView) -> GroupRef:
    return GroupRef(group.group_id, group.name, Member(primary, group.primary_role))


def _default_name(view: CustomerView) -> str:
    first = next((p.first_name for p in view.profiles if p.first_name), "")
    last = next((p.last_name for p in view.profiles if p.last_name), "")
    return f"{first} {last}".strip()[:200] or f"Customer {view.customer_id}"


async def _headed_group(
    uow: UnitOfWork,
    ctx: RequestContext,
    primary: CustomerView,
    program: GroupProgram,
    hierarchy_code: str,
    role: str | None,
    name: str | None,
    now: datetime,
) -> tuple[Group, bool, list[Warning_]]:
    """The group the primary heads in the hierarchy, created (groupCreated) if none."""
    repo = uow.groups
    standing = await repo.standing(ctx.org_id, primary.customer_id, hierarchy_code)
    if standing.member_of is not None:
        raise Conflict(2067, x=standing.member_of.group_id)
    if standing.heads is not None:
        found = standing.heads
        warnings = [Warning_.of(2068, x=found.primary_role)] if role and role != found.primary_role else []
        return found, False, warnings
    group = Group(
        group_id=await uow.tx.id("grp"),
        name=name or _default_name(primary),
        hierarchy_code=hierarchy_code,
        group_program_id=program.group_program_id,
        primary_customer_id=primary.customer_id,
        primary_role=role or PRIMARY_ROLE,
    )
    await repo.create(ctx.org_id, group, now)
    uow.record(GroupCreated(_ref(group, primary), ctx.actor, now, ctx.request_id))
    return group, True, []


async def _join(
    uow: UnitOfWork,
    ctx: RequestContext,
    member: Enlisted,
    group: Group,
    role: str | None,
    primary: CustomerView,
    now: datetime,
) -> Placed:
    """Add a customer to a group (groupMemberAdded); one already in it stays as it is."""
    customer_id = member.customer.customer_id
    if customer_id == group.primary_customer_id:
        raise RuleViolation(2065)
    repo = uow.groups
    standing = await repo.standing(ctx.org_id, customer_id, group.hierarchy_code)
    if standing.heads is not None:
        raise Conflict(2066, x=standing.heads.group_id)
    if standing.member_of is not None:
        if standing.member_of.group_id != group.group_id:
            raise Conflict(2064, x=standing.member_of.group_id)
        if role and role != standing.role:
            member = replace(member, warnings=(*member.warnings, Warning_.of(2068, x=standing.role)))
        return Placed(member, group, standing.role)
    wanted = role or MEMBER_ROLE
    await repo.add_member(ctx.org_id, group.group_id, customer_id, wanted, now)
    uow.record(
        GroupMemberAdded(
            _ref(group, primary), Member(member.customer, wanted), ctx.actor, now, ctx.request_id
        )
    )
    return Placed(member, group, wanted)


# --- Associate Customer with Customer/Hierarchy --------------------------------------------


async def register_one(uow: UnitOfWork, ctx: RequestContext, plan: RegistrationPlan) -> Enlisted:
    """An item of a plain batch: Register Customer's rules, one transaction."""
    registered = await apply_registration(uow, ctx, plan)
    view = await customer_view(uow, ctx, registered.customer_id)
    merged = any(w.code == MERGED for w in registered.warnings)
    return Enlisted(view, not merged, tuple(registered.warnings), tuple(registered.side_effects))


async def head_group(
    uow: UnitOfWork,
    ctx: RequestContext,
    plan: RegistrationPlan,
    association: Association,
    program: GroupProgram,
) -> Placed:
    """The item with childCustomers: the parent registered or reused, heading its group."""
    now = utcnow()
    known = await _known(uow, ctx, plan)
    await lock_customers(uow, ctx, [known.customer_id])
    primary = await _enlist(uow, ctx, known)
    role = role_code(association.role_code)
    group, created, warnings = await _headed_group(
        uow,
        ctx,
        primary.customer,
        program,
        association.hierarchy_code,
        role,
        group_name(association.group_name),
        now,
    )
    primary = replace(primary, warnings=(*primary.warnings, *warnings))
    return Placed(primary, group, group.primary_role, created)


async def add_child(
    uow: UnitOfWork, ctx: RequestContext, plan: RegistrationPlan, head: Placed, role: str | None
) -> Placed:
    """A child of the parent's group, registered or reused, then added (the event shows the
    parent as this request found it)."""
    now = utcnow()
    known = await _known(uow, ctx, plan)
    await lock_customers(uow, ctx, [known.customer_id, head.group.primary_customer_id])
    child = await _enlist(uow, ctx, known)
    return await _join(uow, ctx, child, head.group, role, head.enlisted.customer, now)


async def join_parent(
    uow: UnitOfWork,
    ctx: RequestContext,
    plan: RegistrationPlan,
    parent_plan: RegistrationPlan,
    association: Association,
    program: GroupProgram,
) -> tuple[Placed, Placed]:
    """The item with a parentCustomer: both registered or reused, the item joining the
    parent's group (created if the parent heads none); one transaction."""
    now = utcnow()
    known_parent = await _known(uow, ctx, parent_plan)
    known = await _known(uow, ctx, plan)
    await lock_customers(uow, ctx, [known_parent.customer_id, known.customer_id])
    parent = await _enlist(uow, ctx, known_parent)
    group, created, _ = await _headed_group(
        uow, ctx, parent.customer, program, association.hierarchy_code, None, None, now
    )
    member = await _enlist(uow, ctx, known)
    placed = await _join(uow, ctx, member, group, role_code(association.role_code), parent.customer, now)
    return placed, Placed(parent, group, group.primary_role, created)


async def associate(db: Database, ctx: RequestContext, cmd: AssociateCustomers) -> list[ItemResult]:
    """Register or associate every item, each in its own transactions (module docstring)."""
    check_batch(customers_named(cmd))
    return [await _item(db, ctx, item) for item in cmd.items]


async def _item(db: Database, ctx: RequestContext, item: BulkCustomer) -> ItemResult:
    association = item.association
    try:
        plan = plan_customer(ctx, item.customer)
        if association is None:
            return ItemResult(item.referral_code, await db.write(register_one, ctx, plan))
        program = group_program(ctx.config, association.hierarchy_code)
        association = replace(association, hierarchy_code=association.hierarchy_code.strip())
        if association.parent is not None and association.children:
            raise InvalidInput(
                400, detail="associationDetails: give childCustomers or parentCustomer, not both."
            )
        role_code(association.role_code)
        child_role = role_code(association.child_role_code, "childRoleCode")
        group_name(association.group_name)
        if association.parent is not None:
            parent_plan = plan_customer(ctx, _inherit(association.parent, item.customer.loyalty_type))
            placed, parent = await db.write(join_parent, ctx, plan, parent_plan, association, program)
            return ItemResult(item.referral_code, placed.enlisted, None, association, placed, parent)
        head = await db.write(head_group, ctx, plan, association, program)
    except (PatronError, IntegrityError) as exc:
        return ItemResult(item.referral_code, error=_as_error(exc), association=association)
    children: list[Placed | Failed] = []
    for child in association.children:
        try:
            child_plan = plan_customer(ctx, _inherit(child, item.customer.loyalty_type))
            children.append(await db.write(add_child, ctx, child_plan, head, child_role))
        except (PatronError, IntegrityError) as exc:
            children.append(Failed(_as_error(exc)))
    return ItemResult(item.referral_code, head.enlisted, None, association, head, None, tuple(children))


# --- Update Association Details ------------------------------------------------------------


async def change_association(
    uow: UnitOfWork,
    ctx: RequestContext,
    change: AssociationChange,
    program: GroupProgram,
    source: str,
    account: str,
) -> ChangeResult:
    """Change a customer's role in its group, or move it to another parent's group."""
    now = utcnow()
    org_id, code = ctx.org_id, change.hierarchy_code
    role = role_code(change.role_code)
    name = group_name(change.group_name)
    repo = uow.groups
    customer_id = await _find(uow, ctx, change.profiles, source, account)
    parent_id = None if change.parent is None else await _find(uow, ctx, change.parent, source, account)
    await lock_customers(uow, ctx, [customer_id, parent_id])
    view = await customer_view(uow, ctx, customer_id)
    standing = await repo.standing(org_id, customer_id, code)
    if parent_id is None:
        if standing.heads is not None:
            group = standing.heads
            if (role or group.primary_role, name or group.name) != (group.primary_role, group.name):
                group.primary_role, group.name = role or group.primary_role, name or group.name
                await repo.update(org_id, group, now)
                uow.record(GroupUpdated(_ref(group, view), ctx.actor, now, ctx.request_id))
            return ChangeResult(change, view, None, group, group.primary_role)
        if standing.member_of is None:
            raise RuleViolation(2069, x=code)
        if name:
            raise InvalidInput(400, detail="groupName: only the customer heading a group renames it.")
        group = standing.member_of
        primary = await customer_view(uow, ctx, group.primary_customer_id)
        if role and role != standing.role:
            await repo.set_role(org_id, group.group_id, customer_id, role)
            uow.record(GroupUpdated(_ref(group, primary), ctx.actor, now, ctx.request_id))
        return ChangeResult(change, view, None, group, role or standing.role, primary)
    if name:
        raise InvalidInput(400, detail="groupName: send it without parentCustomer, as the heading customer.")
    if parent_id == customer_id:
        raise RuleViolation(2065)
    if standing.heads is not None:
        raise Conflict(2066, x=standing.heads.group_id)
    parent = await customer_view(uow, ctx, parent_id)
    target, _, _ = await _headed_group(uow, ctx, parent, program, code, None, None, now)
    old, old_role = standing.member_of, standing.role
    wanted = role or old_role or MEMBER_ROLE
    if old is not None and old.group_id == target.group_id:
        if wanted != old_role:
            await repo.set_role(org_id, target.group_id, customer_id, wanted)
            uow.record(GroupUpdated(_ref(target, parent), ctx.actor, now, ctx.request_id))
        return ChangeResult(change, view, None, target, wanted, parent)
    if old is not None:
        await repo.remove_member(org_id, old.group_id, customer_id)
        old_primary = await customer_view(uow, ctx, old.primary_customer_id)
        uow.record(
            GroupMemberRemoved(_ref(old, old_primary), Member(view, old_role), ctx.actor, now, ctx.request_id)
        )
    await repo.add_member(org_id, target.group_id, customer_id, wanted, now)
    uow.record(GroupMemberAdded(_ref(target, parent), Member(view, wanted), ctx.actor, now, ctx.request_id))
    return ChangeResult(change, view, None, target, wanted, parent)


async def update_associations(
    db: Database, ctx: RequestContext, cmd: UpdateAssociations
) -> list[ChangeResult]:
    """Every item in a transaction of its own; an item's failure is its own answer."""
    source, account = resolve_account(ctx.config, cmd.where, allow_all=True)
    check_batch(len(cmd.items) + sum(c.parent is not None for c in cmd.items))
    results = []
    for change in cmd.items:
        try:
            program = group_program(ctx.config, change.hierarchy_code)
            change = replace(change, hierarchy_code=change.hierarchy_code.strip())
            results.append(await db.write(change_association, ctx, change, program, source, account))
        except (PatronError, IntegrityError) as exc:
            results.append(ChangeResult(change, error=_as_error(exc)))
    return results


# --- Get Customers (Group Loyalty) ---------------------------------------------------------


async def list_children(uow: UnitOfWork, ctx: RequestContext, cmd: ListChildren) -> ChildrenPage:
    """The members of the groups the parent heads (in one hierarchy when named), a page."""
    source, account = resolve_account(ctx.config, cmd.where, allow_all=True)
    if cmd.entity_type != PARENT_ENTITY:
        raise InvalidInput(400, detail=f"associationEntityType must be {PARENT_ENTITY}.")
    if not 1 <= cmd.limit <= MAX_PAGE:
        raise InvalidInput(400, detail=f"limit must be between 1 and {MAX_PAGE}.")
    if cmd.offset < 0:
        raise InvalidInput(400, detail="offset must be 0 or more.")
    if cmd.sort_by not in SORTS:
        raise InvalidInput(400, detail=f"sortBy must be one of {', '.join(SORTS)}.")
    if cmd.sort_order not in ORDERS:
        raise InvalidInput(400, detail=f"sortOrder must be one of {', '.join(ORDERS)}.")
    code = cmd.hierarchy_code.strip() if cmd.hierarchy_code else None
    parent_id = await customer_id_by_identifier(
        uow, ctx, cmd.identifier_name, cmd.identifier_value, source, account, catalog.LOOKUP_NAMES
    )
    total, children = await uow.groups.children(
        ctx.org_id,
        parent_id,
        code,
        sort_by=cmd.sort_by,
        order=cmd.sort_order,
        limit=cmd.limit,
        offset=cmd.offset,
    )
    names = series_names(ctx.config)
    page = []
    for child in children:
        view = await uow.customers.view(ctx.org_id, child.customer_id, names)
        if view is not None:
            page.append((view, child))
    return ChildrenPage(total, page, source, account)
