"""The org configuration: one JSON document, validated on the way in.

It says which sources and accounts the org uses, its primary identifier and phone region,
the extended and custom fields it accepts, its card series and its status labels.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Any, Literal

import phonenumbers
import pycountry
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from patron.customers.catalog import DEFAULT_MULTI_ACCOUNT, SOURCES

FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime"]


class _ConfigModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class ExtendedFieldSpec(_ConfigModel):
    name: str = Field(min_length=1, max_length=100)
    type: FieldType = "string"
    values: list[Any] | None = None
    max_length: int = Field(default=255, ge=1, le=10_000)


class CardSeries(_ConfigModel):
    series_id: int = Field(ge=1, le=2**31 - 1)  # card.series_id is an INTEGER column
    series_code: str = Field(min_length=1, max_length=100)
    name: str | None = None
    status_labels: list[str] = Field(default_factory=lambda: ["ACTIVE"], min_length=1)
    # A card number must match this pattern (a Python regular expression), if given.
    number_pattern: str | None = None
    # Cards of this series one customer may hold at once.
    max_active_cards: int = Field(default=1, ge=1, le=1000)
    card_type: Literal["DIGITAL", "PHYSICAL"] = "DIGITAL"

    @field_validator("number_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"numberPattern is not a valid regular expression: {exc}") from exc
        return value


def _default_sources() -> dict[str, list[str]]:
    return {s: ([f"{s}-1"] if s in DEFAULT_MULTI_ACCOUNT else []) for s in SOURCES}


class OrgConfig(_ConfigModel):
    primary_identifier: Literal["mobile", "email", "externalId"] = "mobile"
    default_phone_region: str = "IN"
    timezone: str = "UTC"
    sources: dict[str, list[str]] = Field(default_factory=_default_sources)
    extended_fields: list[ExtendedFieldSpec] = Field(default_factory=list)
    # Extended fields of cards (003:L260 "customer or card level"), checked the same way.
    card_extended_fields: list[ExtendedFieldSpec] = Field(default_factory=list)
    custom_fields: list[str] = Field(default_factory=list)
    card_series: list[CardSeries] = Field(default_factory=list)
    status_labels: list[str] = Field(
        default_factory=lambda: ["Active", "Inactive", "Pending Deletion", "Deleted"], min_length=1
    )
    # Moving a customer to this label schedules the erasure of their personal data, which
    # runs after the grace period and leaves the customer with the deleted label.
    pending_deletion_label: str = "Pending Deletion"
    deleted_label: str = "Deleted"
    erasure_grace_seconds: int = Field(default=0, ge=0, le=365 * 86400)
    # Require cards to exist in stock before they are issued (else an issue creates them).
    require_precreated_cards: bool = False
    # How far a stated registration date (createDate) may lie in the past or future.
    registration_past_days: int = Field(default=36_500, ge=0)
    registration_future_days: int = Field(default=1, ge=0)

    @field_validator("default_phone_region")
    @classmethod
    def _region(cls, value: str) -> str:
        region = value.upper()
        if pycountry.countries.get(alpha_2=region) is None:
            raise ValueError(f"{value!r} is not an ISO 3166 country code")
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"phone numbers of {region} are not supported")
        return region

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone") from exc
        return value

    @field_validator("sources")
    @classmethod
    def _sources(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if not value:
            raise ValueError("enable at least one source")
        for source, accounts in value.items():
            if source not in SOURCES:
                raise ValueError(f"unknown source {source!r}; known: {', '.join(SOURCES)}")
            if len(set(accounts)) != len(accounts):
                raise ValueError(f"source {source} lists an account twice")
            if any(not a or len(a) > 100 or a != a.strip() for a in accounts):
                raise ValueError(f"source {source} has an empty or badly spaced account id")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> OrgConfig:
        for specs in (self.extended_fields, self.card_extended_fields):
            names = [f.name for f in specs]
            if len(set(names)) != len(names):
                raise ValueError("an extended field is declared twice")
        if len(set(self.custom_fields)) != len(self.custom_fields):
            raise ValueError("a custom field is declared twice")
        ids = [c.series_id for c in self.card_series]
        codes = [c.series_code for c in self.card_series]
        if len(set(ids)) != len(ids) or len(set(codes)) != len(codes):
            raise ValueError("a card series id or code is declared twice")
        if len(set(self.status_labels)) != len(self.status_labels):
            raise ValueError("a status label is declared twice")
        return self

    # Queries the services ask of the config.
    def series_by_id(self, series_id: int) -> CardSeries | None:
        return next((c for c in self.card_series if c.series_id == series_id), None)

    def series_by_code(self, code: str) -> CardSeries | None:
        return next((c for c in self.card_series if c.series_code == code), None)

    def to_document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    @property
    def initial_status_label(self) -> str:
        return self.status_labels[0]
