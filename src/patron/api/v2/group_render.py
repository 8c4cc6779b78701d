"""The group use cases' results in the seed's wire shapes (003:L839-1491, L1678-1873,
L1959-2108); no rules here."""

from __future__ import annotations

from typing import Any

from patron.api.v2 import render
from patron.api.v2.loyalty import side_effect_items
from patron.customers import catalog
from patron.customers.views import CustomerView
from patron.errors import PatronError
from patron.loyalty.group_repository import Group
from patron.loyalty.groups import (
    ChangeResult,
    ChildrenPage,
    Enlisted,
    Failed,
    ItemResult,
    Placed,
)
from patron.orgs.config import OrgConfig


def error_items(error: PatronError) -> list[dict[str, Any]]:
    return [{"status": False, "code": error.code, "message": error.message}]


def _profiles(view: CustomerView, tz: str, source: str = catalog.ALL_SOURCES, account: str = "") -> list[Any]:
    profiles = view.profiles
    if source != catalog.ALL_SOURCES:
        profiles = [p for p in profiles if (p.source, p.account_id) == (source, account)]
    return [render.profile_json(view, p, tz) for p in profiles]


def _associated(view: CustomerView, tz: str) -> dict[str, Any]:
    return {
        "id": view.customer_id,
        "profiles": _profiles(view, tz),
        "extendedFields": dict(view.extended_fields),
    }


def _details(
    group: Group,
    role: str,
    *,
    new: bool,
    child: bool,
    fleet: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "hierarchyCode": group.hierarchy_code,
        "hierarchyId": group.group_program_id,
        "groupId": group.group_id,
        "roleCode": role,
        **extra,
    }
    if fleet is not None:
        out["fleetCompany"] = {"externalId": fleet}
    out.update(skipLevelAllowed=False, new=new, childCustomer=child)
    return out


def _entity(enlisted: Enlisted, tz: str, **extra: Any) -> dict[str, Any]:
    view = enlisted.customer
    body: dict[str, Any] = {
        "id": view.customer_id,
        "profiles": _profiles(view, tz),
        "loyaltyInfo": {"loyaltyType": view.loyalty_type},
        "segments": {},
        **extra,
    }
    body["extendedFields"] = dict(view.extended_fields)
    body["sideEffects"] = side_effect_items(list(enlisted.side_effects))
    body["warnings"] = render.warning_items(list(enlisted.warnings))
    body["errors"] = []
    return body


def _failed(error: PatronError) -> dict[str, Any]:
    return {"id": None, "warnings": [], "errors": error_items(error)}


def _child(result: Placed | Failed, parent: Placed, fleet: str | None, tz: str) -> dict[str, Any]:
    if isinstance(result, Failed):
        return _failed(result.error)
    details = _details(
        result.group,
        result.role,
        new=result.enlisted.new,
        child=True,
        fleet=fleet,
        parentRoleCode=parent.role,
    )
    return _entity(result.enlisted, tz, associationDetails=details)


def bulk_item(result: ItemResult, config: OrgConfig) -> dict[str, Any]:
    tz = config.timezone
    children: list[dict[str, Any]] = []
    if result.entity is None:
        assert result.error is not None
        entity = _failed(result.error)
    elif result.placed is None or result.association is None:
        entity = _entity(result.entity, tz, referralCode=result.referral_code)
    else:
        association, placed = result.association, result.placed
        fleet = association.fleet_company_id
        if result.parent is not None:
            details = _details(
                placed.group,
                placed.role,
                new=placed.enlisted.new,
                child=True,
                fleet=fleet,
                parentCustomer=_associated(result.parent.enlisted.customer, tz),
                parentRoleCode=result.parent.role,
            )
        else:
            children = [_child(c, placed, fleet, tz) for c in result.children]
            details = _details(
                placed.group,
                placed.role,
                new=placed.enlisted.new,
                child=False,
                fleet=fleet,
                childCustomers=[
                    _associated(c.enlisted.customer, tz) for c in result.children if isinstance(c, Placed)
                ],
                childRoleCode=association.child_role_code or None,
            )
        entity = _entity(result.entity, tz, referralCode=result.referral_code, associationDetails=details)
    failures = sum(1 for c in result.children if isinstance(c, Failed))
    return {
        "entity": entity,
        "childEntities": children,
        "childCount": len(result.children),
        "childFailureCount": failures,
        "childSuccessCount": len(result.children) - failures,
    }


def bulk_answer(results: list[ItemResult], config: OrgConfig) -> list[dict[str, Any]]:
    return [bulk_item(r, config) for r in results]


def changed(result: ChangeResult, config: OrgConfig) -> dict[str, Any]:
    tz = config.timezone
    if result.customer is None or result.group is None:
        assert result.error is not None
        return _failed(result.error)
    view, group = result.customer, result.group
    extra: dict[str, Any] = {}
    if result.parent is not None:
        extra = {"parentCustomer": _associated(result.parent, tz), "parentRoleCode": group.primary_role}
    details = _details(
        group,
        result.role,
        new=False,
        child=result.parent is not None,
        fleet=result.change.fleet_company_id,
        **extra,
    )
    return {
        "id": view.customer_id,
        "profiles": _profiles(view, tz),
        "loyaltyInfo": {"loyaltyType": view.loyalty_type},
        "segments": {},
        "referralCode": result.change.referral_code,
        "associationDetails": details,
        "extendedFields": dict(view.extended_fields),
        "warnings": [],
        "errors": [],
    }


def changes_answer(results: list[ChangeResult], config: OrgConfig) -> list[dict[str, Any]]:
    return [changed(r, config) for r in results]


def children_answer(page: ChildrenPage, config: OrgConfig) -> dict[str, Any]:
    tz = config.timezone
    customers = []
    for view, child in page.children:
        customers.append(
            {
                "id": view.customer_id,
                "profiles": _profiles(view, tz, page.source, page.account_id),
                "loyaltyInfo": {"loyaltyType": view.loyalty_type},
                "associationDetails": {
                    "hierarchyCode": child.hierarchy_code,
                    "hierarchyId": child.group_program_id,
                    "groupId": child.group_id,
                    "roleCode": child.role,
                    "skipLevelAllowed": False,
                    "new": False,
                    "childCustomer": True,
                },
                "extendedFields": dict(view.extended_fields),
            }
        )
    return {
        "entity": {"customers": customers, "count": page.total, "errors": [], "warnings": []},
        "warnings": [],
        "errors": [],
        "success": True,
    }
