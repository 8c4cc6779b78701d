"""Security access rules (seed 004: Add/Update/Get/Delete Security Access) and their
enforcement (docs/users.md, "Security access rules").

A rule belongs to the org (`customer_id` NULL: every user of the org, less the users it
excludes) or to one user (`info.user_id`). It governs one of our operation classes
(`action.action`, ACTION_CODES; 0 or none: all of them) and holds:

- conditions: client-address keys (`rule.keys[{name: "ip", expression_operator: equals |
  in | cidr, value}]`) and a `schedule` (start/expiry dates, days of week, months, days of
  month, a time window; read in the org's time zone). `rule.expression_operator` (or the
  flat `info.expression_operator`) joins them: 0 all must hold, 1 any one;
- an effect, `access_type`: 0 deny (the access is refused while the conditions hold; a
  deny rule without conditions refuses the action always), 1 allow (an allow-list: when
  allow rules with conditions apply, the access must meet the conditions of at least one);
- or a limit, `frequency{calc_method: 0, frequency_time{name: minute | hour | day | week,
  value: N}}`: at most N of the governed actions per user per period (fixed periods in the
  org's time zone) while the rule's conditions hold (always, without conditions);
- `excluded[{entity: 7, entity_id: user}]`: users an org rule does not apply to.

Only rules with `status` 1 are enforced. What is stored and answered but not enforced:
`notification` (nothing is sent when a rule refuses), the seed's flat fields of another
platform (`type`, `value`, `channel`, `service_domain`, `transaction_type`: the seed's sample
is a card MCC rule), keys other than `ip`, frequency `calc_method` other than 0, exclusions
of other entities, and `schedule.expression_operator`. A rule holding an unsupported key or
calc_method is not enforced at all rather than half-enforced.

Errors: 3001/3002 for a bad or missing field (its path named), 3005 for an `info.user_id`
or excluded user that is not a user of the org, 3013 for a rule id that is not the org's,
3004 (403) when a rule refuses an access, 3012 (429, Retry-After) past a frequency limit.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from patron.context import RequestContext
from patron.db.base import utcnow
from patron.db.sql import Q
from patron.db.tx import Tx
from patron.db.uow import UnitOfWork
from patron.errors import PatronError, Throttled
from patron.users import codes, fields

if TYPE_CHECKING:
    from patron.db.engine import Database

# Our operation classes, the values of `action.action` (the seed's X07: one digit).
ALL = "all"
VALIDATE = "validate"  # the six Validate operations (a credential check)
RESET = "reset"  # the five User Security Reset operations and the forget-password completion
VERIFY = "verify"  # Verify (email link or code, phone code) and Confirm (email, SMS)
TWO_FACTOR = "two_factor"  # Enroll and Activate 2FA
SECURITY_UPDATE = "security_update"  # Update User Security
ACTION_CODES: dict[str, str] = {
    "0": ALL,
    "1": VALIDATE,
    "2": RESET,
    "3": VERIFY,
    "4": TWO_FACTOR,
    "5": SECURITY_UPDATE,
}
_ACTION_NAMES = {name: digit for digit, name in ACTION_CODES.items()}

ACTIVE = 1
DENY, ALLOW = 0, 1
ALL_OF, ANY_OF = 0, 1
USER_ENTITY = 7
IP_KEY = "ip"
IP_OPERATORS = {"equals": "equals", "eq": "equals", "=": "equals", "in": "in", "cidr": "cidr"}
PERIODS = ("minute", "hour", "day", "week")
MAX_RULES = 500  # per org: Get Security Access answers them all
MAX_ITEMS = 50  # per request
MAX_KEYS = 20
MAX_EXCLUDED = 100
MAX_ADDRESSES = 50  # per key value
_TEXT_LIMIT = 500
# Scopes of the seed's table that are not ours: a rule for one of them cannot be honoured.
_OTHER_SCOPES = ("group_id", "bin_id", "account_id", "pos_id")
# The flat form's fields (004:L9249-9263) that are not in the access_rule_info table.
_FLAT = (
    "access_type",
    "value",
    "channel",
    "service_domain",
    "notes",
    "transaction_type",
    "expression_operator",
)

_COLUMNS = "rule_id, customer_id, status, data, created_at, updated_at"
_INSERT = Q(
    "INSERT INTO access_rule (org_id, rule_id, customer_id, status, data, created_at, updated_at, till_id)"
    " VALUES (:org_id, :rule_id, :customer_id, :status, :data, :now, :now, :till_id)"
)
_UPDATE = Q(
    "UPDATE access_rule SET customer_id = :customer_id, status = :status, data = :data,"
    " updated_at = :now, till_id = :till_id WHERE org_id = :org_id AND rule_id = :rule_id"
)
_BY_IDS = Q(f"SELECT {_COLUMNS} FROM access_rule WHERE org_id = :org_id AND rule_id IN (:rule_ids*)")
_OF_ORG = Q(f"SELECT {_COLUMNS} FROM access_rule WHERE org_id = :org_id ORDER BY rule_id LIMIT :n")
_FOR_USER = Q(
    f"SELECT {_COLUMNS} FROM access_rule WHERE org_id = :org_id"
    " AND (customer_id IS NULL OR customer_id = :customer_id) ORDER BY rule_id LIMIT :n"
)
_ACTIVE_FOR = Q(
    f"SELECT {_COLUMNS} FROM access_rule WHERE org_id = :org_id AND status = :status"
    " AND (customer_id IS NULL OR customer_id = :customer_id) ORDER BY rule_id"
)
_COUNT = Q("SELECT COUNT(*) FROM access_rule WHERE org_id = :org_id")
# One use counted against a frequency limit, in one statement: no row back once the period
# holds `limit` uses (then nothing is written).
_USE = Q(
    "INSERT INTO access_rule_use (org_id, rule_id, customer_id, period_end, count)"
    " VALUES (:org_id, :rule_id, :customer_id, :period_end, 1)"
    " ON CONFLICT (org_id, rule_id, customer_id, period_end) DO UPDATE"
    " SET count = access_rule_use.count + 1 WHERE access_rule_use.count < :limit"
    " RETURNING count"
)
_ORGS_WITH_ENDED = Q(
    "SELECT DISTINCT org_id FROM access_rule_use WHERE period_end <= :now ORDER BY org_id LIMIT :n"
)
_PRUNE_ENDED = Q("DELETE FROM access_rule_use WHERE org_id = :org_id AND period_end <= :now")
_DELETE = Q("DELETE FROM access_rule WHERE org_id = :org_id AND rule_id IN (:rule_ids*)")
_USER = Q(
    "SELECT merged_into_id, status_label, created_at FROM customer"
    " WHERE org_id = :org_id AND customer_id = :customer_id"
)


@dataclass(frozen=True, slots=True)
class AccessRule:
    rule_id: int
    user_id: int | None
    status: int
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class UserRef:
    """A user of the org named by a rule: what the answer's `info` shows of it."""

    user_id: int
    status_label: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RuleInput:
    """One checked `access_rule[]` item: `given` holds only the data keys sent (None clears
    one); `user_id` is `...`-free: None with `user_given` False means "not sent"."""

    id: int | None
    given: dict[str, Any]
    status: int | None = None
    user_id: int | None = None
    user_given: bool = False


@dataclass(frozen=True, slots=True)
class Written:
    rules: list[AccessRule]
    users: dict[int, UserRef] = field(default_factory=dict)


class AccessRules:
    """The `access_rule` statements; every one names the org."""

    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    @staticmethod
    def _rule(r: Any) -> AccessRule:
        return AccessRule(
            int(r[0]), None if r[1] is None else int(r[1]), int(r[2]), dict(r[3] or {}), r[4], r[5]
        )

    async def by_ids(self, org_id: int, ids: Sequence[int]) -> dict[int, AccessRule]:
        rows = await self.tx.all(_BY_IDS, org_id=org_id, rule_ids=list(ids))
        return {rule.rule_id: rule for rule in map(self._rule, rows)}

    async def of_org(self, org_id: int, user_id: int | None = None) -> list[AccessRule]:
        if user_id is None:
            rows = await self.tx.all(_OF_ORG, org_id=org_id, n=MAX_RULES)
        else:
            rows = await self.tx.all(_FOR_USER, org_id=org_id, customer_id=user_id, n=MAX_RULES)
        return [self._rule(r) for r in rows]

    async def active_for(self, org_id: int, user_id: int | None) -> list[AccessRule]:
        rows = await self.tx.all(_ACTIVE_FOR, org_id=org_id, status=ACTIVE, customer_id=user_id)
        return [self._rule(r) for r in rows]

    async def count(self, org_id: int) -> int:
        return int(await self.tx.val(_COUNT, org_id=org_id) or 0)

    async def insert(self, org_id: int, rule: AccessRule, till_id: int) -> None:
        await self.tx.run(
            _INSERT,
            org_id=org_id,
            rule_id=rule.rule_id,
            customer_id=rule.user_id,
            status=rule.status,
            data=rule.data,
            now=rule.created_at,
            till_id=till_id,
        )

    async def update(self, org_id: int, rule: AccessRule, till_id: int) -> None:
        await self.tx.run(
            _UPDATE,
            org_id=org_id,
            rule_id=rule.rule_id,
            customer_id=rule.user_id,
            status=rule.status,
            data=rule.data,
            now=rule.updated_at,
            till_id=till_id,
        )

    async def delete(self, org_id: int, ids: Sequence[int]) -> None:
        await self.tx.run(_DELETE, org_id=org_id, rule_ids=list(ids))

    async def user(self, org_id: int, user_id: int) -> UserRef | None:
        row = await self.tx.one(_USER, org_id=org_id, customer_id=user_id)
        if row is None or row[0] is not None:  # unknown, or merged into another customer
            return None
        return UserRef(user_id, row[1], row[2])


# --- checking a request item ---------------------------------------------------------------


def _int(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise codes.invalid(f"{where} must be a whole number from {low} to {high}.")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not low <= value <= high:
        raise codes.invalid(f"{where} must be a whole number from {low} to {high}.")
    return value


def _text(value: Any, where: str, limit: int = _TEXT_LIMIT) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise codes.invalid(f"{where} must be a string.")
    text = str(value)
    if len(text) > limit or any(ord(c) < 32 and c not in "\t" for c in text):
        raise codes.invalid(f"{where} must be at most {limit} characters, without control characters.")
    return text


def _scalar(value: Any, where: str) -> str | int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return _text(value, where, 50)


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise codes.invalid(f"{where} must be an object.")
    return value


def _items(value: Any, where: str, limit: int) -> list[Any]:
    """An object or an array of objects (the tables type these as Object; a list is natural)."""
    items = list(value) if isinstance(value, list) else [value]
    if len(items) > limit:
        raise codes.invalid(f"{where} has more than {limit} items.")
    return items


def _action(raw: Any, where: str) -> str | None:
    if raw is None:
        return None
    given = dict(_object(raw, where))
    value = given.get("action")
    if isinstance(value, str) and value.strip().lower() in _ACTION_NAMES:
        given["action"] = _ACTION_NAMES[value.strip().lower()]
    cleaned = fields.validate_object("action", given, method="POST", path=where)
    code = cleaned.get("action")
    if code is None:
        return None
    if code not in ACTION_CODES:
        names = ", ".join(f"{d} {n}" for d, n in ACTION_CODES.items())
        raise codes.invalid(f"{where}.action must be one of {names}.")
    return str(code)


def _addresses(value: str, operator: str, where: str) -> list[str]:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts or len(parts) > MAX_ADDRESSES or (operator == "equals" and len(parts) != 1):
        many = "one address" if operator == "equals" else f"1 to {MAX_ADDRESSES} comma-separated values"
        raise codes.invalid(f"{where}.value must be {many}.")
    out = []
    for part in parts:
        try:
            if operator == "cidr":
                out.append(str(ipaddress.ip_network(part, strict=False)))
            else:
                out.append(str(ipaddress.ip_address(part)))
        except ValueError:
            kind = "an IP network (CIDR)" if operator == "cidr" else "an IP address"
            raise codes.invalid(f"{where}.value: '{part[:60]}' is not {kind}.") from None
    return out


def _keys(raw: Any, where: str) -> list[dict[str, Any]] | None:
    if raw is None:
        return None
    out = []
    for index, item in enumerate(_items(raw, where, MAX_KEYS)):
        at = f"{where}[{index}]" if isinstance(raw, list) else where
        cleaned = fields.validate_object("key", _object(item, at), method="POST", path=at)
        name = cleaned.get("name")
        if name is None:
            raise codes.missing(f"{at}.name")
        operator = _text(cleaned.get("expression_operator"), f"{at}.expression_operator", 20)
        value = _text(cleaned.get("value"), f"{at}.value", 2000)
        key: dict[str, Any] = {"name": str(name), "expression_operator": operator, "value": value}
        if str(name).lower() == IP_KEY:
            op = IP_OPERATORS.get((operator or "").lower())
            if op is None:
                raise codes.invalid(f"{at}.expression_operator must be equals, in or cidr for the ip key.")
            if value is None:
                raise codes.missing(f"{at}.value")
            key = {"name": IP_KEY, "expression_operator": op, "value": ",".join(_addresses(value, op, at))}
        out.append(key)
    return out


def _frequency(raw: Any, where: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    cleaned = fields.validate_object("frequency", _object(raw, where), method="POST", path=where)
    period = cleaned.get("frequency_time")
    if not period:
        raise codes.missing(f"{where}.frequency_time")
    name = period.get("name")
    if name is None:
        raise codes.missing(f"{where}.frequency_time.name")
    if str(name).lower() not in PERIODS:
        raise codes.invalid(f"{where}.frequency_time.name must be one of {', '.join(PERIODS)}.")
    if period.get("value") is None:
        raise codes.missing(f"{where}.frequency_time.value")
    most = _int(period["value"], f"{where}.frequency_time.value", 1, 999)
    calc = cleaned.get("calc_method")
    return {
        "calc_method": "0" if calc is None else str(calc),
        "frequency_time": {
            "name": str(name).lower(),
            "value": most,
            "unique_key": period.get("unique_key"),
            "rule_key_name": period.get("rule_key_name"),
        },
    }


def _schedule(raw: Any, where: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    cleaned = fields.validate_object("schedule", _object(raw, where), method="POST", path=where)
    start, expiry = cleaned.get("start_date"), cleaned.get("expiry_date")
    if start is not None and expiry is not None and str(start) > str(expiry):
        raise codes.invalid(f"{where}.expiry_date is before its start_date.")
    window = cleaned.get("time")
    if window is not None and (window.get("start_time") is None or window.get("end_time") is None):
        which = "start_time" if window.get("start_time") is None else "end_time"
        raise codes.missing(f"{where}.time.{which}")
    out = {
        key: cleaned.get(key)
        for key in (
            "expression_operator",
            "start_date",
            "expiry_date",
            "days_of_week",
            "on_months",
            "days_of_month",
        )
    }
    out["time"] = (
        None if window is None else {"start_time": window["start_time"], "end_time": window["end_time"]}
    )
    if all(out[k] is None for k in out if k != "expression_operator"):
        raise codes.missing(f"{where}: a date, day, month or time")
    return out


def _notification(raw: Any, where: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    cleaned = fields.validate_object(
        "notification#access_rule", _object(raw, where), method="POST", path=where
    )
    return {k: cleaned.get(k) for k in ("enabled", "recipient_entity", "delivery_method")}


def _excluded(raw: Any, where: str) -> list[dict[str, Any]] | None:
    if raw is None:
        return None
    out = []
    for index, item in enumerate(_items(raw, where, MAX_EXCLUDED)):
        at = f"{where}[{index}]" if isinstance(raw, list) else where
        cleaned = fields.validate_object("excluded", _object(item, at), method="POST", path=at)
        for key in ("entity", "entity_id"):
            if cleaned.get(key) is None:
                raise codes.missing(f"{at}.{key}")
        out.append({"entity": int(cleaned["entity"]), "entity_id": int(cleaned["entity_id"])})
    return out


def check_item(raw: Mapping[str, Any], method: fields.Method, where: str) -> RuleInput:
    """One `access_rule[]` item of a request, checked: the seed's flat `info` (004:L9249-9263)
    and the table's objects (`action`, `rule`, `frequency`, `schedule`, `notification`,
    `excluded`, 004:L835-1058). Unknown keys are dropped, as users/fields.py drops them."""
    item = _object(raw, where)
    info = dict(_object(item.get("info") or {}, f"{where}.info"))
    flat = {k: info.pop(k) for k in _FLAT if k in info}
    cleaned = fields.validate_object("access_rule_info", info, method=method, path=f"{where}.info")
    for scope in _OTHER_SCOPES:
        if cleaned.get(scope) not in (None, 0):
            raise codes.invalid(
                f"{where}.info.{scope}: a rule is for the org or one user (info.user_id);"
                " other scopes are not supported."
            )
    rule_id = cleaned.get("id")
    if method != "POST" and rule_id is None:
        raise codes.missing(f"{where}.info.id")
    given: dict[str, Any] = {}
    for key in ("type", "name", "description"):
        if key in cleaned:
            given[key] = cleaned[key]
    for key in ("value", "notes"):
        if key in flat:
            given[key] = _text(flat[key], f"{where}.info.{key}")
    for key in ("channel", "transaction_type"):
        if key in flat:
            given[key] = _scalar(flat[key], f"{where}.info.{key}")
    if flat.get("service_domain") is not None:
        given["service_domain"] = _int(flat["service_domain"], f"{where}.info.service_domain", 0, 99)
    for key in ("access_type", "expression_operator"):
        if flat.get(key) is not None:
            given[key] = _int(flat[key], f"{where}.info.{key}", 0, 1)
    if "action" in item:
        given["action"] = _action(item["action"], f"{where}.action")
    if "rule" in item:
        rule = _object(item["rule"], f"{where}.rule") if item["rule"] is not None else {}
        for key in ("access_type", "expression_operator"):
            if rule.get(key) is not None:
                value = _int(rule[key], f"{where}.rule.{key}", 0, 1)
                if key in given and given[key] != value:
                    raise codes.invalid(f"{where}.rule.{key} differs from {where}.info.{key}.")
                given[key] = value
        if "keys" in rule or item["rule"] is None:
            given["keys"] = _keys(rule.get("keys"), f"{where}.rule.keys")
    for key, check in (
        ("frequency", _frequency),
        ("schedule", _schedule),
        ("notification", _notification),
        ("excluded", _excluded),
    ):
        if key in item:
            given[key] = check(item[key], f"{where}.{key}")
    status = cleaned.get("status")
    return RuleInput(
        None if rule_id is None else int(rule_id),
        given,
        None if status is None else int(status),
        None if cleaned.get("user_id") in (None, 0) else int(cleaned["user_id"]),
        "user_id" in cleaned,
    )


def _complete(data: dict[str, Any], where: str) -> None:
    """A rule's parts that only make sense together."""
    has_conditions = bool(data.get("keys")) or data.get("schedule") is not None
    if has_conditions and data.get("frequency") is None and data.get("access_type") is None:
        raise codes.missing(f"{where}.info.access_type (0 deny, 1 allow) for a rule with conditions")


_DEFAULTS: dict[str, Any] = {
    "type": 0,
    "access_type": None,
    "value": None,
    "channel": None,
    "service_domain": 0,
    "notes": None,
    "transaction_type": None,
    "expression_operator": ALL_OF,
    "name": None,
    "description": None,
    "action": None,
    "keys": None,
    "frequency": None,
    "schedule": None,
    "notification": None,
    "excluded": None,
}


# --- use cases -----------------------------------------------------------------------------


async def _users(uow: UnitOfWork, ctx: RequestContext, ids: set[int]) -> dict[int, UserRef]:
    repo = AccessRules(uow.tx)
    out = {}
    for uid in sorted(ids):
        found = await repo.user(ctx.org_id, uid)
        if found is None:
            raise codes.not_found(uid)
        out[uid] = found
    return out


def _named_users(rule: AccessRule) -> set[int]:
    named = {rule.user_id} if rule.user_id is not None else set()
    for ex in rule.data.get("excluded") or ():
        if ex.get("entity") == USER_ENTITY:
            named.add(int(ex["entity_id"]))
    return named


async def add_rules(
    uow: UnitOfWork, ctx: RequestContext, items: Sequence[RuleInput], now: datetime
) -> Written:
    """Add Security Access: every rule of the request, or none."""
    if not items:
        raise codes.missing("access_rule")
    repo = AccessRules(uow.tx)
    if await repo.count(ctx.org_id) + len(items) > MAX_RULES:
        raise codes.refused(f"access_rule: an org holds at most {MAX_RULES} rules.")
    ids = await uow.tx.ids("user_record", len(items))
    made = []
    for index, (item, rid) in enumerate(zip(items, ids, strict=True)):
        data = {**_DEFAULTS, **item.given}
        _complete(data, f"access_rule[{index}]")
        status = ACTIVE if item.status is None else item.status
        made.append(AccessRule(rid, item.user_id, status, data, now, now))
    users = await _users(uow, ctx, set().union(*(_named_users(r) for r in made)))
    for rule in made:
        await repo.insert(ctx.org_id, rule, ctx.actor.till_id)
    return Written(made, users)


async def update_rules(
    uow: UnitOfWork, ctx: RequestContext, items: Sequence[RuleInput], now: datetime
) -> Written:
    """Update Security Access: the rules named by `info.id`, the fields sent, all or none."""
    if not items:
        raise codes.missing("access_rule")
    ids = [item.id for item in items if item.id is not None]
    if len(set(ids)) != len(ids):
        raise codes.invalid("access_rule: a rule id is given twice.")
    repo = AccessRules(uow.tx)
    held = await repo.by_ids(ctx.org_id, ids)
    changed = []
    for index, item in enumerate(items):
        assert item.id is not None
        old = held.get(item.id)
        if old is None:
            raise codes.record_not_found("access rule", item.id)
        data = {**_DEFAULTS, **old.data, **item.given}
        _complete(data, f"access_rule[{index}]")
        user_id = item.user_id if item.user_given else old.user_id
        status = old.status if item.status is None else item.status
        changed.append(AccessRule(old.rule_id, user_id, status, data, old.created_at, now))
    users = await _users(uow, ctx, set().union(*(_named_users(r) for r in changed)))
    for rule in changed:
        await repo.update(ctx.org_id, rule, ctx.actor.till_id)
    return Written(changed, users)


async def delete_rules(uow: UnitOfWork, ctx: RequestContext, ids: Sequence[int]) -> Written:
    """Delete Security Access: the rules named, all or none."""
    if not ids:
        raise codes.missing("access_rule")
    if len(set(ids)) != len(ids):
        raise codes.invalid("access_rule: a rule id is given twice.")
    repo = AccessRules(uow.tx)
    held = await repo.by_ids(ctx.org_id, ids)
    for rid in ids:
        if rid not in held:
            raise codes.record_not_found("access rule", rid)
    await repo.delete(ctx.org_id, ids)
    return Written([held[rid] for rid in ids])


async def get_rules(uow: UnitOfWork, ctx: RequestContext, user_id: int | None) -> Written:
    """Get Security Access: the org's rules, oldest first; with a user, the rules that apply
    to that user (the org's and the user's own)."""
    users = {}
    if user_id is not None:
        users = await _users(uow, ctx, {user_id})
    return Written(await AccessRules(uow.tx).of_org(ctx.org_id, user_id), users)


# --- enforcement ---------------------------------------------------------------------------

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _enforceable(data: Mapping[str, Any]) -> bool:
    """Every part of the rule is one we enforce (else the rule is stored, not enforced)."""
    if any(key.get("name") != IP_KEY for key in data.get("keys") or ()):
        return False
    frequency = data.get("frequency")
    return frequency is None or frequency.get("calc_method") == "0"


def _applies(rule: AccessRule, user_id: int | None, action: str) -> bool:
    wanted = ACTION_CODES.get(str(rule.data.get("action") or "0"), ALL)
    if wanted not in (ALL, action):
        return False
    if rule.user_id is None and user_id is not None:
        for ex in rule.data.get("excluded") or ():
            if ex.get("entity") == USER_ENTITY and ex.get("entity_id") == user_id:
                return False
    return True


def _client(client: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        net = ipaddress.ip_network(client.strip(), strict=False)
    except ValueError:
        return None
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen == 128:
        mapped = ipaddress.IPv6Address(net.network_address).ipv4_mapped
        if mapped is not None:
            return ipaddress.ip_network(mapped)
    return net


def key_holds(key: Mapping[str, Any], client: str) -> bool:
    """An ip key against the client's address (an address, or an IPv6 /64 when that is all
    the request tells); an unknown address never matches."""
    net = _client(client)
    if net is None:
        return False
    values = str(key.get("value") or "").split(",")
    if key.get("expression_operator") == "cidr":
        rules = [ipaddress.ip_network(v, strict=False) for v in values if v]
        return any(net.version == r.version and net.subnet_of(r) for r in rules)  # type: ignore[arg-type]
    addresses = [ipaddress.ip_address(v) for v in values if v]
    return any(a in net for a in addresses)


def _names(text: str, table: tuple[str, ...]) -> set[int]:
    out = set()
    for part in text.split(","):
        part = part.strip().lower()
        if part.isdigit():
            out.add(int(part) - 1)
        elif part[:3] in table:
            out.add(table.index(part[:3]))
    return out


def in_schedule(schedule: Mapping[str, Any], local: datetime) -> bool:
    """Whether a moment (in the org's time zone) is inside the schedule: within its dates,
    on one of its days, months and days of the month, inside its time window (which may
    cross midnight); every part given must hold."""
    today = local.date()
    if schedule.get("start_date") and today < date.fromisoformat(str(schedule["start_date"])):
        return False
    if schedule.get("expiry_date") and today > date.fromisoformat(str(schedule["expiry_date"])):
        return False
    if schedule.get("days_of_week") and today.weekday() not in _names(str(schedule["days_of_week"]), _DAYS):
        return False
    if schedule.get("on_months") and today.month - 1 not in _names(str(schedule["on_months"]), _MONTHS):
        return False
    days = schedule.get("days_of_month")
    listed = {int(d) for d in str(days or "").split(",") if d.strip().isdigit()}
    if days and str(days).strip().lower() != "all" and today.day not in listed:
        return False
    window = schedule.get("time")
    if window:
        start, end = time.fromisoformat(window["start_time"]), time.fromisoformat(window["end_time"])
        now = local.time().replace(second=0, microsecond=0, tzinfo=None)
        if start < end:
            return start <= now < end
        if end < start:
            return now >= start or now < end
    return True


def window_of(period: str, local: datetime) -> tuple[datetime, datetime]:
    """The fixed period (in the org's time zone) a moment falls in: its start and end."""
    if period == "minute":
        start = local.replace(second=0, microsecond=0)
        return start, start + timedelta(minutes=1)
    if period == "hour":
        start = local.replace(minute=0, second=0, microsecond=0)
        return start, start + timedelta(hours=1)
    day = local.date() - timedelta(days=local.weekday() if period == "week" else 0)
    span = 7 if period == "week" else 1
    zone = local.tzinfo
    return (
        datetime.combine(day, time(), zone),
        datetime.combine(day + timedelta(days=span), time(), zone),
    )


def _refused(rule: AccessRule, action: str, why: str) -> PatronError:
    return codes.forbidden(f"Access rule {rule.rule_id} refuses {action} {why}.")


@dataclass(frozen=True, slots=True)
class Limits:
    """The frequency limits an access must still be counted against (`count`)."""

    rules: tuple[AccessRule, ...]
    local: datetime


async def applicable(
    uow: UnitOfWork, ctx: RequestContext, user_id: int | None, action: str, client: str, now: datetime
) -> Limits | None:
    """Read the active rules of the org and the user for `action`: 3004 (403) when a deny
    rule's conditions hold or allow rules apply and none holds; else the frequency limits
    to count the access against (None: none). Reads only, so a read unit of work will do."""
    rules = [
        r
        for r in await AccessRules(uow.tx).active_for(ctx.org_id, user_id)
        if _applies(r, user_id, action) and _enforceable(r.data)
    ]
    if not rules:
        return None
    local = now.astimezone(ZoneInfo(ctx.config.timezone))
    allowed: list[bool] = []
    limits: list[AccessRule] = []
    for rule in rules:
        data = rule.data
        conditions = [key_holds(k, client) for k in data.get("keys") or ()]
        if data.get("schedule"):
            conditions.append(in_schedule(data["schedule"], local))
        joined = any if data.get("expression_operator") == ANY_OF else all
        holds = joined(conditions) if conditions else True
        if data.get("frequency") is not None:
            if holds:
                limits.append(rule)
        elif data.get("access_type") == ALLOW:
            if conditions:
                allowed.append(holds)
        elif holds:
            raise _refused(
                rule, action, "from this address or at this time" if conditions else "for this user"
            )
    if allowed and not any(allowed):
        raise codes.forbidden(f"No access rule allows {action} from this address or at this time.")
    return Limits(tuple(limits), local) if limits else None


async def count(uow: UnitOfWork, ctx: RequestContext, user_id: int | None, limits: Limits) -> None:
    """Count one access against each frequency limit: 3012 (429, Retry-After to the period's
    end) past one. Written in this unit of work."""
    for rule in limits.rules:
        period = rule.data["frequency"]["frequency_time"]
        _, end = window_of(str(period["name"]), limits.local)
        counted = await uow.tx.val(
            _USE,
            org_id=ctx.org_id,
            rule_id=rule.rule_id,
            customer_id=user_id if user_id is not None else 0,
            period_end=end.astimezone(UTC),
            limit=int(period["value"]),
        )
        if counted is None:
            raise Throttled(
                int(codes.THROTTLED.code),
                f"Access rule {rule.rule_id} allows {period['value']} per {period['name']}; retry later.",
                retry_after=max(1, math.ceil((end - limits.local).total_seconds())),
            )


async def prune_ended(uow: UnitOfWork, now: datetime, orgs: int = 100) -> int:
    """Forget the counts of periods that have ended (the delivery worker's housekeeping)."""
    removed = 0
    for (org_id,) in await uow.tx.all(_ORGS_WITH_ENDED, now=now, n=orgs):
        removed += await uow.tx.run(_PRUNE_ENDED, org_id=int(org_id), now=now)
    return removed


async def enforce(
    uow: UnitOfWork, ctx: RequestContext, user_id: int | None, action: str, client: str, now: datetime
) -> None:
    """`applicable` then `count`, in the write that performs the access, before its work: so
    only accesses that commit are counted against a frequency limit."""
    limits = await applicable(uow, ctx, user_id, action, client, now)
    if limits is not None:
        await count(uow, ctx, user_id, limits)


async def enforce_apart(
    db: Database, ctx: RequestContext, user_id: int | None, action: str, client: str
) -> None:
    """For an access that writes nothing when it succeeds (Validate): the rules are read in
    a read unit of work, and only when a frequency limit applies is the access counted, in a
    write of its own (every attempt counts, since the credential check comes after)."""
    limits = await db.read(applicable, ctx, user_id, action, client, utcnow())
    if limits is not None:
        await db.write(count, ctx, user_id, limits)


T = TypeVar("T")


def before(
    action: str, ctx: RequestContext, user_id: int, client: str, fn: Callable[..., Awaitable[T]]
) -> Callable[..., Awaitable[T]]:
    """`fn(uow, ...)` (any use case) with the access rules of `action` for this user enforced
    first, in its unit of work."""

    async def run(uow: UnitOfWork, *args: Any, **kwargs: Any) -> T:
        await enforce(uow, ctx, user_id, action, client, utcnow())
        return await fn(uow, *args, **kwargs)

    return run


def guarded(action: str, client: str, fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """`fn(uow, ctx, user_id, ...)` with the access rules of `action` enforced first, in its
    unit of work: `write(ctx, guarded(RESET, client, reset_password), ctx, uid, ...)`."""

    async def run(uow: UnitOfWork, ctx: RequestContext, user_id: int, *args: Any, **kwargs: Any) -> T:
        await enforce(uow, ctx, user_id, action, client, utcnow())
        return await fn(uow, ctx, user_id, *args, **kwargs)

    return run
