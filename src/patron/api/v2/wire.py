"""Request bodies of the v2 customers API, as the seed writes them (camelCase).

Lenient where the seed's own samples are (booleans as "true", a mobile as a number, an
`add` object instead of a list); unknown keys are ignored, as the seed's clients send
fields this API does not use (activity, endPointsEnabled ...).
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from patron.customers import commands as c
from patron.customers.commands import INT32_MAX, INT64_MAX


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class IdentifierBody(_Wire):
    type: str = Field(min_length=1, max_length=40)
    value: str | int
    seriesId: int | None = Field(default=None, ge=1, le=INT32_MAX)
    seriesCode: str | None = Field(default=None, max_length=100)
    statusLabel: str | None = Field(default=None, max_length=100)
    cardExternalId: str | None = Field(default=None, max_length=100)
    extendedFields: dict[str, Any] = Field(default_factory=dict)
    customFields: dict[str, Any] = Field(default_factory=dict)

    def command(self) -> c.IdentifierInput:
        return c.IdentifierInput(
            type=self.type,
            value=self.value,
            series_id=self.seriesId,
            series_code=self.seriesCode,
            status_label=self.statusLabel,
            card_external_id=self.cardExternalId,
            extended_fields=self.extendedFields,
            custom_fields=self.customFields,
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
    firstName: str | None = Field(default=None, max_length=200)
    lastName: str | None = Field(default=None, max_length=200)
    identifiers: list[IdentifierBody] = Field(default_factory=list, max_length=50)
    commChannels: list[CommChannelBody] | None = Field(default=None, max_length=50)
    source: str | None = Field(default=None, max_length=20)
    accountId: str | int | None = None
    fields: dict[str, Any] | None = None

    def command(self) -> c.ProfileInput:
        return c.ProfileInput(
            source=self.source,
            account_id=None if self.accountId is None else str(self.accountId),
            first_name=self.firstName,
            last_name=self.lastName,
            identifiers=tuple(i.command() for i in self.identifiers),
            comm_channels=None
            if self.commChannels is None
            else tuple(ch.command() for ch in self.commChannels),
            fields=self.fields,
        )


class LoyaltyInfoBody(_Wire):
    loyaltyType: str | None = None


class EnrollmentBody(_Wire):
    programId: int = Field(ge=1, le=INT64_MAX)
    tierNumber: int | None = Field(default=None, ge=1, le=INT32_MAX)
    loyaltyPoints: int = Field(default=0, ge=0, le=INT32_MAX)
    tierExpiryDate: AwareDatetime | None = None
    pointsExpiryDate: AwareDatetime | None = None

    def command(self) -> c.EnrollmentInput:
        return c.EnrollmentInput(
            self.programId, self.tierNumber, self.loyaltyPoints, self.tierExpiryDate, self.pointsExpiryDate
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

    loyaltyInfo: LoyaltyInfoBody | None = None
    loyaltyType: str | None = None  # the seed's table puts it at the top level (I-14)
    associatedWith: str | None = Field(default=None, max_length=100)
    profiles: list[ProfileBody] = Field(default_factory=list, max_length=20)
    extendedFields: dict[str, Any] = Field(default_factory=dict)
    loyaltyProgramEnrollments: list[EnrollmentBody] = Field(default_factory=list, max_length=50)
    createDate: AwareDatetime | None = None

    def command(self) -> c.RegisterCustomer:
        loyalty = (self.loyaltyInfo.loyaltyType if self.loyaltyInfo else None) or self.loyaltyType or ""
        return c.RegisterCustomer(
            loyalty_type=loyalty,
            profiles=tuple(p.command() for p in self.profiles),
            extended_fields=self.extendedFields,
            associated_with=self.associatedWith,
            create_date=self.createDate,
            enrollments=tuple(e.command() for e in self.loyaltyProgramEnrollments),
        )


class UpdateBody(_Wire):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"profiles": [{"firstName": "Huck", "lastName": "Finn"}]}]}
    )

    profiles: list[ProfileBody] = Field(default_factory=list, max_length=1)
    loyaltyInfo: LoyaltyInfoBody | None = None
    loyaltyType: str | None = None
    extendedFields: dict[str, Any] | None = None
    loyaltyProgramEnrollments: list[EnrollmentBody] = Field(default_factory=list, max_length=50)

    def command(self, ref: c.CustomerRef, where: c.SourceAccount) -> c.UpdateCustomer:
        loyalty = (self.loyaltyInfo.loyaltyType if self.loyaltyInfo else None) or self.loyaltyType
        return c.UpdateCustomer(
            ref=ref,
            where=where,
            profile=self.profiles[0].command() if self.profiles else None,
            loyalty_type=loyalty,
            extended_fields=self.extendedFields,
            enrollments=tuple(e.command() for e in self.loyaltyProgramEnrollments),
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
    createdOn: AwareDatetime | None = None
    label: str | None = Field(default=None, max_length=100)
