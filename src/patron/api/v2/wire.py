"""Request bodies of the v2 customers API, as the seed writes them (camelCase).

Lenient where the seed's own samples are (booleans as "true", a mobile as a number, an
`add` object instead of a list); unknown keys are ignored, as the seed's clients send
fields this API does not use (activity, endPointsEnabled ...).
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, ConfigDict, Field, field_validator

from patron.api.wire import CamelModel
from patron.customers import commands as c
from patron.customers.commands import INT32_MAX, INT64_MAX


class _Wire(CamelModel):
    """The v2 request bodies: camelCase, and keys the seed's clients send that Patron does not
    read are ignored, as the seed's API does."""

    model_config = ConfigDict(extra="ignore")


class IdentifierBody(_Wire):
    type: str = Field(min_length=1, max_length=40)
    value: str | int
    series_id: int | None = Field(default=None, ge=1, le=INT32_MAX)
    series_code: str | None = Field(default=None, max_length=100)
    status_label: str | None = Field(default=None, max_length=100)
    card_external_id: str | None = Field(default=None, max_length=100)
    extended_fields: dict[str, Any] = Field(default_factory=dict)
    custom_fields: dict[str, Any] = Field(default_factory=dict)

    def command(self) -> c.IdentifierInput:
        return c.IdentifierInput(
            type=self.type,
            value=self.value,
            series_id=self.series_id,
            series_code=self.series_code,
            status_label=self.status_label,
            card_external_id=self.card_external_id,
            extended_fields=self.extended_fields,
            custom_fields=self.custom_fields,
        )


class CommChannelBody(_Wire):
    type: str = Field(max_length=40)
    value: str | int
    primary: bool = False
    verified: bool = False
    subscribed: bool | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    attributes: dict[str, Any] = Field(default_factory=dict)

    def command(self) -> c.CommChannelInput:
        return c.CommChannelInput(
            self.type, self.value, self.primary, self.verified, self.subscribed, self.meta, self.attributes
        )


class ProfileBody(_Wire):
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    identifiers: list[IdentifierBody] = Field(default_factory=list, max_length=50)
    comm_channels: list[CommChannelBody] | None = Field(default=None, max_length=50)
    source: str | None = Field(default=None, max_length=20)
    account_id: str | int | None = None
    fields: dict[str, Any] | None = None

    def command(self) -> c.ProfileInput:
        return c.ProfileInput(
            source=self.source,
            account_id=None if self.account_id is None else str(self.account_id),
            first_name=self.first_name,
            last_name=self.last_name,
            identifiers=tuple(i.command() for i in self.identifiers),
            comm_channels=None
            if self.comm_channels is None
            else tuple(ch.command() for ch in self.comm_channels),
            fields=self.fields,
        )


class LoyaltyInfoBody(_Wire):
    loyalty_type: str | None = None


class EnrollmentBody(_Wire):
    program_id: int = Field(ge=1, le=INT64_MAX)
    tier_number: int | None = Field(default=None, ge=1, le=INT32_MAX)
    loyalty_points: int = Field(default=0, ge=0, le=INT32_MAX)
    tier_expiry_date: AwareDatetime | None = None
    points_expiry_date: AwareDatetime | None = None

    def command(self) -> c.EnrollmentInput:
        return c.EnrollmentInput(
            self.program_id,
            self.tier_number,
            self.loyalty_points,
            self.tier_expiry_date,
            self.points_expiry_date,
        )


class RegisterBody(_Wire):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "loyaltyInfo": {"loyaltyType": "loyalty"},
                    "profiles": [
                        {
                            "firstName": "Tom",
                            "lastName": "Sawyer",
                            "source": "INSTORE",
                            "identifiers": [{"type": "mobile", "value": "919845012345"}],
                        }
                    ],
                }
            ]
        }
    )

    loyalty_info: LoyaltyInfoBody | None = None
    loyalty_type: str | None = None  # the seed's table puts it at the top level (I-14)
    associated_with: str | None = Field(default=None, max_length=100)
    profiles: list[ProfileBody] = Field(default_factory=list, max_length=20)
    extended_fields: dict[str, Any] = Field(default_factory=dict)
    loyalty_program_enrollments: list[EnrollmentBody] = Field(default_factory=list, max_length=50)
    create_date: AwareDatetime | None = None
    # The referrer's referral code (Get Customer Referrals shows it); links the new customer
    # as a referee and grants the referral campaign's incentives (docs/engagement.md).
    referral_code: str | None = Field(default=None, max_length=100)

    def command(self) -> c.RegisterCustomer:
        loyalty = (self.loyalty_info.loyalty_type if self.loyalty_info else None) or self.loyalty_type or ""
        return c.RegisterCustomer(
            loyalty_type=loyalty,
            profiles=tuple(p.command() for p in self.profiles),
            extended_fields=self.extended_fields,
            associated_with=self.associated_with,
            create_date=self.create_date,
            enrollments=tuple(e.command() for e in self.loyalty_program_enrollments),
            referral_code=self.referral_code,
        )


class UpdateBody(_Wire):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"profiles": [{"firstName": "Huck", "lastName": "Finn"}]}]}
    )

    profiles: list[ProfileBody] = Field(default_factory=list, max_length=1)
    loyalty_info: LoyaltyInfoBody | None = None
    loyalty_type: str | None = None
    extended_fields: dict[str, Any] | None = None
    loyalty_program_enrollments: list[EnrollmentBody] = Field(default_factory=list, max_length=50)

    def command(self, ref: c.CustomerRef, where: c.SourceAccount) -> c.UpdateCustomer:
        loyalty = (self.loyalty_info.loyalty_type if self.loyalty_info else None) or self.loyalty_type
        return c.UpdateCustomer(
            ref=ref,
            where=where,
            profile=self.profiles[0].command() if self.profiles else None,
            loyalty_type=loyalty,
            extended_fields=self.extended_fields,
            enrollments=tuple(e.command() for e in self.loyalty_program_enrollments),
        )


class ChangeIdentifierBody(_Wire):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"add": [{"type": "email", "value": "tom.sawyer@example.com"}]}]}
    )

    add: list[IdentifierBody] = Field(default_factory=list, max_length=50)
    remove: list[IdentifierBody] = Field(default_factory=list, max_length=50)

    @field_validator("add", "remove", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value


class StatusBody(_Wire):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"label": "Inactive", "reason": "Asked to pause the account."}]}
    )

    reason: str | None = Field(default=None, max_length=500)
    created_on: AwareDatetime | None = None
    label: str | None = Field(default=None, max_length=100)
