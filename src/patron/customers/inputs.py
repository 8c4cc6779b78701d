"""Checking and normalising what a request says about identifiers and channels."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from patron.customers import catalog
from patron.customers.commands import CommChannelInput, IdentifierInput
from patron.customers.domain import InvalidIdentifier, normalise_identifier
from patron.errors import InvalidInput
from patron.orgs.config import OrgConfig


@dataclass(frozen=True, slots=True)
class CleanIdentifier:
    type: str
    value: str
    raw: IdentifierInput


def clean_identifier(item: IdentifierInput, config: OrgConfig, codes: dict[str, int]) -> CleanIdentifier:
    """Canonical type and normalised value; `codes` maps a type to its failure code."""
    id_type = catalog.canonical_type(str(item.type or ""))
    if id_type is None:
        raise InvalidInput(
            400,
            detail=f"'{item.type}' is not an identifier type; use one of "
            f"{', '.join(catalog.IDENTIFIER_TYPES)}.",
        )
    try:
        value = normalise_identifier(id_type, item.value, config)
    except InvalidIdentifier as exc:
        code = codes.get(id_type, 400)
        raise InvalidInput(code, detail=f"{id_type} '{item.value}': {exc.reason}.") from exc
    return CleanIdentifier(id_type, value, item)


def clean_comm_channels(
    channels: Sequence[CommChannelInput], config: OrgConfig, source: str
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for ch in channels:
        if ch.type not in catalog.COMM_CHANNEL_TYPES:
            raise InvalidInput(8010, detail=f"'{ch.type}' is not a channel type.")
        if ch.type == "mobilePush" and source not in catalog.MOBILE_PUSH_SOURCES:
            raise InvalidInput(8010, detail=f"mobilePush is not supported for {source}.")
        value: Any = ch.value
        try:
            if ch.type == "mobile":
                value = normalise_identifier("mobile", ch.value, config)
            elif ch.type == "email":
                value = normalise_identifier("email", ch.value, config)
            else:
                value = normalise_identifier("wechat", ch.value, config)
        except InvalidIdentifier as exc:
            code = {"mobile": 8058, "email": 8057}.get(ch.type, 8010)
            raise InvalidInput(code, detail=exc.reason) from exc
        item: dict[str, Any] = {
            "type": ch.type,
            "value": value,
            "primary": ch.primary,
            "verified": ch.verified,
            "meta": ch.meta,
            "attributes": ch.attributes,
        }
        if ch.subscribed is not None:
            item["subscribed"] = ch.subscribed
        out.append(item)
    return out


def channels_text(channels: list[dict[str, Any]]) -> str:
    return json.dumps([{"type": c["type"], "value": c["value"]} for c in channels], separators=(",", ":"))
