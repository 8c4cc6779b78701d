"""The org configuration: one JSON document, validated on the way in.

It says which sources and accounts the org uses, its primary identifier and phone region,
the extended and custom fields it accepts, its card series and its status labels.
"""

from __future__ import annotations

import itertools
import re
import zoneinfo
from decimal import Decimal
from typing import Any, Literal

import phonenumbers
import pycountry
from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator
from pydantic.alias_generators import to_camel

from patron.customers.catalog import DEFAULT_MULTI_ACCOUNT, SOURCES
from patron.security import ratelimit

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


_INT64 = 2**63 - 1
_INT32 = 2**31 - 1


class TierSpec(_ConfigModel):
    """A tier (slab) of a loyalty program: reached when the customer's qualifying points
    reach `threshold`; with `validity_days` it lapses and is re-evaluated (loyalty/tiers.py)."""

    number: int = Field(ge=1, le=1000)
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    threshold: int = Field(default=0, ge=0, le=_INT64)
    validity_days: int | None = Field(default=None, ge=1, le=36_500)


class LoyaltyProgram(_ConfigModel):
    program_id: int = Field(ge=1, le=_INT64)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)
    default: bool = False
    # The value of one point in the org's currency (003:L5262 programPointsToCurrencyRatio).
    points_to_currency_ratio: float = Field(default=1.0, ge=0, le=1e9)
    # Points per unit of bill amount: a purchase earns floor(billAmount * earnRate).
    earn_rate: float = Field(default=0.0, ge=0, le=1_000_000)

    @property
    def earn_rate_exact(self) -> Decimal:
        """The earn rate as written (0.1 is one tenth, not the nearest binary fraction)."""
        return Decimal(repr(self.earn_rate))

    # Earned points expire this many days after they were earned (FIFO); None: never.
    points_expiry_days: int | None = Field(default=None, ge=1, le=36_500)
    # Awarded when a loyalty customer registers (a sideEffects item of the registration).
    registration_points: int = Field(default=0, ge=0, le=_INT32)
    tiers: list[TierSpec] = Field(default_factory=lambda: [TierSpec(number=1, name="Base")], min_length=1)

    def problems(self) -> list[str]:
        where = f"loyaltyPrograms[{self.program_id}]"
        out: list[str] = []
        numbers = [t.number for t in self.tiers]
        if numbers != list(range(1, len(numbers) + 1)):
            out.append(f"{where}.tiers: numbers must run 1, 2, 3 ... in order (got {numbers})")
        thresholds = [t.threshold for t in self.tiers]
        if thresholds and thresholds[0] != 0:
            out.append(f"{where}.tiers: the first tier's threshold must be 0")
        if any(b <= a for a, b in itertools.pairwise(thresholds)):
            out.append(f"{where}.tiers: thresholds must rise from tier to tier")
        if self.tiers and self.tiers[0].validity_days is not None:
            out.append(f"{where}.tiers: the first tier cannot lapse (validityDays)")
        return out

    def tier(self, number: int | None) -> TierSpec | None:
        return next((t for t in self.tiers if t.number == number), None)


class GroupProgram(_ConfigModel):
    group_program_id: int = Field(ge=1, le=_INT64)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)
    program_ids: list[int] = Field(min_length=1)
    points_to_currency_ratio: float = Field(default=1.0, ge=0, le=1e9)
    # The hierarchy codes (associationDetails.hierarchyCode) whose groups pool into it.
    hierarchy_codes: list[str] = Field(default_factory=list)


class PartnerTier(_ConfigModel):
    number: int = Field(ge=1, le=1000)
    name: str = Field(min_length=1, max_length=100)


class PartnerProgram(_ConfigModel):
    partner_program_id: int = Field(ge=1, le=_INT64)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)
    type: Literal["SUPPLEMENTARY", "EXTERNAL"]
    tier_based: bool = False
    loyalty_program_id: int = Field(ge=1, le=_INT64)
    # Days before a SUPPLEMENTARY membership's expiry when its reminder event is sent.
    expiry_reminder_days: int = Field(default=7, ge=0, le=3650)
    tiers: list[PartnerTier] = Field(default_factory=list)


# Bounds of a coupon code's length (engagement/coupon_codes.py).
COUPON_CODE_MIN = 6
COUPON_CODE_MAX = 20


class CouponSeries(_ConfigModel):
    """A coupon series: what its coupons discount and how long and often they can be used
    (engagement/coupons.py)."""

    series_id: int = Field(ge=1, le=_INT64)
    description: str = Field(min_length=1, max_length=500)
    # PERC: discountValue percent of the bill, at most discountUpto (0: no cap); ABS: an amount.
    discount_type: Literal["PERC", "ABS"]
    discount_value: float = Field(ge=0, le=1e12)
    discount_upto: float = Field(default=0, ge=0, le=1e12)
    # A coupon is valid until the end of the day (org time zone) this many days after issue.
    validity_days: int = Field(ge=0, le=36_500)
    # Redemptions one coupon allows; -1: unlimited.
    max_redemptions: int = Field(default=1, ge=-1, le=1_000_000)
    code_length: int = Field(default=8, ge=COUPON_CODE_MIN, le=COUPON_CODE_MAX)

    def problems(self) -> list[str]:
        where = f"couponSeries[{self.series_id}]"
        out: list[str] = []
        if self.max_redemptions == 0:
            out.append(f"{where}.maxRedemptions: must be at least 1, or -1 for unlimited")
        if self.discount_type == "PERC" and self.discount_value > 100:
            out.append(f"{where}.discountValue: a percentage cannot exceed 100")
        if self.discount_type == "ABS" and self.discount_upto:
            out.append(f"{where}.discountUpto: caps a PERC discount only (leave it 0 for ABS)")
        return out


class ReferralCampaign(_ConfigModel):
    """A referral campaign (engagement/referrals.py): what a referral registered under it
    grants the referee (the new customer) and the referrer."""

    # The token Add Customer Referrals names (campaignToken): letters, digits, - and _.
    campaign_token: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=200)
    # Points go to this loyalty program, the org's default program when absent.
    program_id: int | None = Field(default=None, ge=1, le=_INT64)
    referee_points: int = Field(default=0, ge=0, le=_INT32)
    referrer_points: int = Field(default=0, ge=0, le=_INT32)
    # A coupon of this coupon series for the referee.
    coupon_series_id: int | None = Field(default=None, ge=1, le=_INT64)
    # A paused campaign refuses new invitations (1203) and grants nothing.
    active: bool = True
    # The campaign of a registration whose referral code matches no invitation; at most one
    # (else the first campaign).
    default: bool = False


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
    # Loyalty (loyalty/): programs with tiers, group pools, partner programs.
    loyalty_programs: list[LoyaltyProgram] = Field(default_factory=list)
    group_programs: list[GroupProgram] = Field(default_factory=list)
    partner_programs: list[PartnerProgram] = Field(default_factory=list)
    # Coupon series (engagement/coupons.py), and the one a registration that creates a
    # customer issues one coupon of (a sideEffects item of the registration).
    coupon_series: list[CouponSeries] = Field(default_factory=list)
    coupon_on_registration: int | None = None
    # Referral campaigns (engagement/referrals.py, docs/engagement.md "Referrals").
    referral_campaigns: list[ReferralCampaign] = Field(default_factory=list)
    # Requests per hour per operation, overriding security/ratelimit.py's DEFAULT_LIMITS;
    # keys are the seed operation names that are limited.
    rate_limits_per_hour: dict[str, StrictInt] = Field(default_factory=dict)
    # Change and retro requests (engagement/change_requests.py, engagement/retro.py): an
    # identifier change waits as PENDING until approved when identifierChangeApproval is
    # set; a retro request may attach a purchase at most retroMaxAgeDays old (counted from
    # its billDate) and is approved at once when retroAutoApprove is set.
    identifier_change_approval: bool = False
    retro_max_age_days: StrictInt = Field(default=30, ge=0, le=3650)
    retro_auto_approve: bool = False
    # How long a merge may be undone (POST /v2/customers/merge/{mergeId}/undo,
    # docs/merges.md), in days from the merge; 0 turns undo off.
    merge_undo_days: StrictInt = Field(default=30, ge=0, le=3650)
    # Largest customer image Set Customer Image accepts, in bytes (engagement/images.py):
    # 5 MiB unless the org says otherwise, never above 20 MiB (a decoded image is held in
    # memory while its metadata is stripped).
    image_max_bytes: StrictInt = Field(default=5 * 1024 * 1024, ge=1024, le=20 * 1024 * 1024)
    # The user namespace (seed 004, docs/users.md) reads and writes the profile of this
    # source (its first account for a multi-account source); it must be an enabled source.
    user_source: str = "WEBSITE"
    # Till codes allowed to see Masked user data (card PAN, bank number, IBAN, id numbers) in
    # clear with the user namespace's `show_sensitive_data: 1` header (users/sensitive.py
    # Reveal); Wiped data (passwords, codes, answers, CVV) is never shown to anyone.
    sensitive_data_tills: list[str] = Field(default_factory=list)
    # What Verify User Email sends when the request does not say (`info.method`): "code", a
    # 6-digit code for Confirm User Email Code, or "link", a link to our confirmation page
    # (users/verification.py; the seed's two requests are identical).
    user_email_verification: Literal["code", "link"] = "code"

    @field_validator("sensitive_data_tills")
    @classmethod
    def _sensitive_tills(cls, value: list[str]) -> list[str]:
        if any(not code or code != code.strip() or len(code) > 100 for code in value):
            raise ValueError("sensitiveDataTills: a till code is empty, badly spaced or too long")
        if len(set(value)) != len(value):
            raise ValueError("sensitiveDataTills: a till code is listed twice")
        return value

    @field_validator("rate_limits_per_hour")
    @classmethod
    def _rate_limits(cls, value: dict[str, int]) -> dict[str, int]:
        problems = ratelimit.config_problems(value)
        if problems:
            raise ValueError("; ".join(problems))
        return value

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
        if self.user_source != "WEBSITE" and self.user_source not in self.sources:
            raise ValueError(f"userSource {self.user_source!r} is not an enabled source")
        problems = self._loyalty_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _loyalty_problems(self) -> list[str]:
        """Every problem of the loyalty keys at once, each naming its place."""
        out: list[str] = []
        programs = {p.program_id for p in self.loyalty_programs}
        if len(programs) != len(self.loyalty_programs):
            out.append("loyaltyPrograms: a programId is declared twice")
        if sum(p.default for p in self.loyalty_programs) > 1:
            out.append("loyaltyPrograms: more than one program is the default")
        for program in self.loyalty_programs:
            out.extend(program.problems())
        groups = [g.group_program_id for g in self.group_programs]
        if len(set(groups)) != len(groups):
            out.append("groupPrograms: a groupProgramId is declared twice")
        codes: list[str] = []
        for g in self.group_programs:
            for pid in g.program_ids:
                if pid not in programs:
                    out.append(f"groupPrograms[{g.group_program_id}].programIds: no loyalty program {pid}")
            codes.extend(g.hierarchy_codes)
        if len(set(codes)) != len(codes):
            out.append("groupPrograms: a hierarchy code belongs to two group programs")
        partners = [p.partner_program_id for p in self.partner_programs]
        if len(set(partners)) != len(partners):
            out.append("partnerPrograms: a partnerProgramId is declared twice")
        for pp in self.partner_programs:
            where = f"partnerPrograms[{pp.partner_program_id}]"
            if pp.loyalty_program_id not in programs:
                out.append(f"{where}.loyaltyProgramId: no loyalty program {pp.loyalty_program_id}")
            if pp.tier_based and not pp.tiers:
                out.append(f"{where}.tiers: a tier-based partner program needs tiers")
            if not pp.tier_based and pp.tiers:
                out.append(f"{where}.tiers: only a tier-based partner program has tiers")
            numbers = [t.number for t in pp.tiers]
            if len(set(numbers)) != len(numbers):
                out.append(f"{where}.tiers: a tier number is declared twice")
        coupon_ids = [c.series_id for c in self.coupon_series]
        if len(set(coupon_ids)) != len(coupon_ids):
            out.append("couponSeries: a seriesId is declared twice")
        for series in self.coupon_series:
            out.extend(series.problems())
        if self.coupon_on_registration is not None and self.coupon_on_registration not in coupon_ids:
            out.append(f"couponOnRegistration: no coupon series {self.coupon_on_registration}")
        out.extend(self._referral_problems(programs, set(coupon_ids)))
        return out

    def _referral_problems(self, programs: set[int], coupon_ids: set[int]) -> list[str]:
        out: list[str] = []
        tokens = [c.campaign_token for c in self.referral_campaigns]
        if len(set(tokens)) != len(tokens):
            out.append("referralCampaigns: a campaignToken is declared twice")
        if sum(c.default for c in self.referral_campaigns) > 1:
            out.append("referralCampaigns: more than one campaign is the default")
        for c in self.referral_campaigns:
            where = f"referralCampaigns[{c.campaign_token}]"
            if c.referee_points or c.referrer_points:
                if not self.loyalty_programs:
                    out.append(f"{where}: points need a loyalty program (loyaltyPrograms is empty)")
                elif c.program_id is not None and c.program_id not in programs:
                    out.append(f"{where}.programId: no loyalty program {c.program_id}")
            elif c.program_id is not None and c.program_id not in programs:
                out.append(f"{where}.programId: no loyalty program {c.program_id}")
            if c.coupon_series_id is not None and c.coupon_series_id not in coupon_ids:
                out.append(f"{where}.couponSeriesId: no coupon series {c.coupon_series_id}")
        return out

    def referral_campaign(self, token: str | None) -> ReferralCampaign | None:
        """A campaign by token, or the default one (marked default, else the first)."""
        if token is None:
            return next((c for c in self.referral_campaigns if c.default), None) or next(
                iter(self.referral_campaigns), None
            )
        return next((c for c in self.referral_campaigns if c.campaign_token == token), None)

    # Queries the services ask of the config.
    def series_by_id(self, series_id: int) -> CardSeries | None:
        return next((c for c in self.card_series if c.series_id == series_id), None)

    def series_by_code(self, code: str) -> CardSeries | None:
        return next((c for c in self.card_series if c.series_code == code), None)

    def coupon_series_by_id(self, series_id: int) -> CouponSeries | None:
        return next((c for c in self.coupon_series if c.series_id == series_id), None)

    def program(self, program_id: int | None) -> LoyaltyProgram | None:
        """A loyalty program by id, or the default one (the one marked default, else the
        first) when no id is given."""
        if program_id is None:
            return next((p for p in self.loyalty_programs if p.default), None) or next(
                iter(self.loyalty_programs), None
            )
        return next((p for p in self.loyalty_programs if p.program_id == program_id), None)

    def partner_program(self, partner_program_id: int) -> PartnerProgram | None:
        return next((p for p in self.partner_programs if p.partner_program_id == partner_program_id), None)

    def group_program_for(self, hierarchy_code: str) -> GroupProgram | None:
        return next((g for g in self.group_programs if hierarchy_code in g.hierarchy_codes), None)

    def to_document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    @property
    def initial_status_label(self) -> str:
        return self.status_labels[0]
