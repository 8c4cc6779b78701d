"""The file formats of import and export (docs/import.md).

JSON lines: one v2 registration body per line (seed 003, Register Customer), read by the
API's own wire model, so a line is refused exactly as the API refuses that body.

CSV: one row per source profile, with a header naming each column. Rows next to each
other with the same `customer` value form one registration with several profiles; the
customer-level columns are read from the first of them. Every row becomes the same JSON
body a JSON line would be, and from there the same path.

    customer                  groups consecutive rows into one customer (optional)
    loyaltyType               loyalty | non_loyalty
    createDate                ISO 8601 with an offset (registration date)
    associatedWith            a till code
    referralCode              the referrer's referral code
    source, accountId         the profile's source account
    firstName, lastName
    mobile, email, externalId, wechat, ... cardnumber    one column per identifier type;
                              several values in a cell are separated by "|"
    cardSeriesId, cardSeriesCode, cardStatus, cardExternalId
                              of the cards in `cardnumber`, "|"-separated in the same order
                              (one value applies to every card)
    programId, tierNumber, loyaltyPoints                 one program enrollment
    custom.NAME               a custom field of the org
    extended.NAME             an extended field of the org
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from patron.api.v2.render import customer_json
from patron.api.v2.wire import RegisterBody
from patron.customers import catalog
from patron.customers.commands import RegisterCustomer
from patron.customers.queries import Details
from patron.customers.views import CustomerView
from patron.errors import InvalidInput
from patron.orgs.config import OrgConfig

CUSTOMER = "customer"
TOP_COLUMNS = ("loyaltyType", "createDate", "associatedWith", "referralCode")
PROFILE_COLUMNS = ("source", "accountId", "firstName", "lastName")
CARD_COLUMNS = {
    "cardSeriesId": "seriesId",
    "cardSeriesCode": "seriesCode",
    "cardStatus": "statusLabel",
    "cardExternalId": "cardExternalId",
}
ENROLLMENT_COLUMNS = {"programId": "programId", "tierNumber": "tierNumber", "loyaltyPoints": "loyaltyPoints"}
CUSTOM, EXTENDED = "custom.", "extended."
SEPARATOR = "|"
_FIELD_NAME = re.compile(r"[A-Za-z0-9_]{1,100}")


class BadHeader(Exception):
    """The CSV header names a column the mapping does not know, twice, or no source."""


def parse_body(raw: Any) -> RegisterCustomer:
    """A registration body as the API reads it; a body the API refuses raises its error."""
    if not isinstance(raw, dict):
        raise InvalidInput(400, "Input is invalid. body: a JSON object is required.")
    try:
        return RegisterBody.model_validate(raw).command()
    except ValidationError as exc:
        raise InvalidInput(400, "Input is invalid. " + _describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:10]:
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where or 'body'}: {err['msg']}")
    return "; ".join(parts) + "."


@dataclass(frozen=True, slots=True)
class Header:
    """A checked CSV header: each column's position by name."""

    names: tuple[str, ...]

    @classmethod
    def check(cls, names: Sequence[str]) -> Header:
        cleaned = tuple(n.strip() for n in names)
        problems = []
        seen: set[str] = set()
        for name in cleaned:
            if name in seen:
                problems.append(f"'{name}' appears twice")
            seen.add(name)
            if not _known(name):
                problems.append(f"'{name}' is not a column of the mapping")
        if "source" not in seen:
            problems.append("the column 'source' is required")
        if not seen & set(catalog.IDENTIFIER_TYPES):
            problems.append("at least one identifier column (mobile, email, externalId ...) is required")
        if problems:
            raise BadHeader("; ".join(problems) + " (docs/import.md lists the columns)")
        return cls(cleaned)


def _known(name: str) -> bool:
    if name in (CUSTOMER, *TOP_COLUMNS, *PROFILE_COLUMNS, *CARD_COLUMNS, *ENROLLMENT_COLUMNS):
        return True
    if name in catalog.IDENTIFIER_TYPES:
        return True
    for prefix in (CUSTOM, EXTENDED):
        if name.startswith(prefix) and _FIELD_NAME.fullmatch(name[len(prefix) :]):
            return True
    return False


def _cells(header: Header, row: Sequence[str]) -> dict[str, str]:
    return {name: value.strip() for name, value in zip(header.names, row, strict=False) if value.strip()}


def _profile(cells: dict[str, str]) -> dict[str, Any]:
    profile: dict[str, Any] = {}
    for column in PROFILE_COLUMNS:
        if column in cells:
            profile[column] = cells[column]
    identifiers: list[dict[str, Any]] = []
    for id_type in catalog.IDENTIFIER_TYPES:
        if id_type not in cells:
            continue
        values = [v.strip() for v in cells[id_type].split(SEPARATOR) if v.strip()]
        for index, value in enumerate(values):
            item: dict[str, Any] = {"type": id_type, "value": value}
            if id_type == catalog.CARD:
                for column, key in CARD_COLUMNS.items():
                    if column in cells:
                        parts = cells[column].split(SEPARATOR)
                        part = parts[index] if len(parts) > 1 else parts[0]
                        if part.strip():
                            item[key] = part.strip()
            identifiers.append(item)
    profile["identifiers"] = identifiers
    custom = {k[len(CUSTOM) :]: v for k, v in cells.items() if k.startswith(CUSTOM)}
    if custom:
        profile["fields"] = custom
    return profile


def csv_body(header: Header, rows: Sequence[Sequence[str]]) -> dict[str, Any]:
    """The registration body of one customer's rows (one per source profile)."""
    first = _cells(header, rows[0])
    body: dict[str, Any] = {"profiles": [_profile(_cells(header, row)) for row in rows]}
    if "loyaltyType" in first:
        body["loyaltyInfo"] = {"loyaltyType": first["loyaltyType"]}
    for column in TOP_COLUMNS[1:]:
        if column in first:
            body[column] = first[column]
    extended = {k[len(EXTENDED) :]: v for k, v in first.items() if k.startswith(EXTENDED)}
    if extended:
        body["extendedFields"] = extended
    enrollment = {key: first[column] for column, key in ENROLLMENT_COLUMNS.items() if column in first}
    if enrollment:
        body["loyaltyProgramEnrollments"] = [enrollment]
    return body


def group_rows(
    header: Header, rows: Iterable[tuple[int, Sequence[str]]]
) -> Iterator[tuple[int, list[Sequence[str]]]]:
    """Consecutive rows with the same non-empty `customer` value, with the first row's line."""
    position = header.names.index(CUSTOMER) if CUSTOMER in header.names else None
    group: list[Sequence[str]] = []
    start, key = 0, ""
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        this = row[position].strip() if position is not None and position < len(row) else ""
        if group and this and this == key:
            group.append(row)
            continue
        if group:
            yield start, group
        group, start, key = [row], line, this
    if group:
        yield start, group


# Export ------------------------------------------------------------------------------------


def export_json(view: CustomerView, config: OrgConfig) -> dict[str, Any]:
    """The customer as Get Customer (v2, source=ALL) answers it."""
    return customer_json(Details(view, catalog.ALL_SOURCES, "", ()), config, by_identifier=False)


def export_header(config: OrgConfig) -> list[str]:
    return [
        CUSTOMER,
        *TOP_COLUMNS[:2],
        "associatedWith",
        *PROFILE_COLUMNS,
        *catalog.IDENTIFIER_TYPES,
        *CARD_COLUMNS,
        *(CUSTOM + name for name in config.custom_fields),
        *(EXTENDED + f.name for f in config.extended_fields),
    ]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def export_rows(view: CustomerView, header: Sequence[str]) -> list[list[str]]:
    """One row per source profile; the customer-level columns on the first."""
    cards = {c.card_number: c for c in view.cards}
    out = []
    for index, profile in enumerate(view.profiles):
        cells: dict[str, str] = {
            CUSTOMER: str(view.customer_id),
            "source": profile.source,
            "accountId": profile.account_id,
            "firstName": profile.first_name,
            "lastName": profile.last_name,
        }
        by_type: dict[str, list[str]] = {}
        for ident in profile.identifiers:
            by_type.setdefault(ident.type, []).append(ident.value)
        for id_type, values in by_type.items():
            cells[id_type] = SEPARATOR.join(values)
        held = [cards[v] for v in by_type.get(catalog.CARD, []) if v in cards]
        if held:
            cells["cardSeriesId"] = SEPARATOR.join(str(c.series_id) for c in held)
            cells["cardSeriesCode"] = SEPARATOR.join(c.series_code for c in held)
            cells["cardStatus"] = SEPARATOR.join(c.status_label for c in held)
            if any(c.card_external_id for c in held):
                cells["cardExternalId"] = SEPARATOR.join(c.card_external_id or "" for c in held)
        if index == 0:
            cells["loyaltyType"] = view.loyalty_type
            cells["createDate"] = view.registered_at.isoformat()
            cells["associatedWith"] = view.associated_with or ""
            for name, value in view.custom_fields.items():
                cells[CUSTOM + name] = _text(value)
            for name, value in view.extended_fields.items():
                cells[EXTENDED + name] = _text(value)
        out.append([cells.get(name, "") for name in header])
    return out
