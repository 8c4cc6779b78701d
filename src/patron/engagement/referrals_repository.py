"""The referral statements: a customer's referral code (`referral_code`), the people a
customer invited (`referral_invitation`), the referees a referrer brought (`referral`) and
what each referral granted (`referral_incentive`). Writers hold the referrer's row first
(engagement/referrals.py), so two writers of one referrer apply one after the other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from patron.db.sql import Q
from patron.db.tx import Table, Tx

CODE = Table(
    "referral_code",
    (("org_id", "bigint"), ("customer_id", "bigint"), ("code", "text"), ("created_at", "timestamptz")),
)
INVITATION = Table(
    "referral_invitation",
    (
        ("org_id", "bigint"),
        ("referrer_id", "bigint"),
        ("id_type", "text"),
        ("identifier", "text"),
        ("name", "text"),
        ("campaign_token", "text"),
        ("invited_on", "timestamptz"),
        ("till_id", "bigint"),
        ("created_at", "timestamptz"),
    ),
)
REFERRAL = Table(
    "referral",
    (
        ("org_id", "bigint"),
        ("referee_id", "bigint"),
        ("referrer_id", "bigint"),
        ("campaign_token", "text"),
        ("event_type", "text"),
        ("added_at", "timestamptz"),
        ("till_id", "bigint"),
    ),
)
INCENTIVE = Table(
    "referral_incentive",
    (
        ("org_id", "bigint"),
        ("referee_id", "bigint"),
        ("beneficiary_id", "bigint"),
        ("kind", "text"),
        ("role", "text"),
        ("referrer_id", "bigint"),
        ("campaign_token", "text"),
        ("points", "bigint"),
        ("program_id", "bigint"),
        ("coupon_id", "bigint"),
        ("coupon_code", "text"),
        ("series_id", "bigint"),
        ("created_at", "timestamptz"),
    ),
)

_CODE_OF = Q("SELECT code FROM referral_code WHERE org_id = :org_id AND customer_id = :customer_id")
_OWNER_OF = Q("SELECT customer_id FROM referral_code WHERE org_id = :org_id AND code = :code")
_INVITED = Q(
    "SELECT identifier FROM referral_invitation"
    " WHERE org_id = :org_id AND referrer_id = :referrer_id AND id_type = :id_type"
    " AND identifier IN (:identifiers*)"
)
_INVITERS = Q(
    "SELECT referrer_id, campaign_token, invited_on FROM referral_invitation"
    " WHERE org_id = :org_id AND id_type = :id_type AND identifier = :identifier"
    " ORDER BY invited_on, referrer_id"
)
_COLUMNS_INVITEE = "id_type, identifier, invited_on, till_id, campaign_token"
_INVITEES = Q(
    f"SELECT {_COLUMNS_INVITEE} FROM referral_invitation"
    " WHERE org_id = :org_id AND referrer_id = :referrer_id"
    " ORDER BY invited_on, id_type, identifier LIMIT :limit OFFSET :offset"
)
_INVITEES_IN = Q(
    f"SELECT {_COLUMNS_INVITEE} FROM referral_invitation"
    " WHERE org_id = :org_id AND referrer_id = :referrer_id AND campaign_token = :campaign_token"
    " ORDER BY invited_on, id_type, identifier LIMIT :limit OFFSET :offset"
)
_COUNT_INVITEES = Q(
    "SELECT count(*) FROM referral_invitation WHERE org_id = :org_id AND referrer_id = :referrer_id"
)
_COUNT_INVITEES_IN = Q(
    "SELECT count(*) FROM referral_invitation"
    " WHERE org_id = :org_id AND referrer_id = :referrer_id AND campaign_token = :campaign_token"
)
# The referees of a page, with every profile's names and the identifiers the listing shows.
_REFEREE_PAGE = (
    "SELECT referee_id, event_type, added_at, campaign_token FROM referral"
    " WHERE org_id = :org_id AND referrer_id = :referrer_id{campaign}"
    " ORDER BY added_at, referee_id LIMIT :limit OFFSET :offset"
)
_REFEREES_SQL = (
    "SELECT r.referee_id, r.event_type, r.added_at, p.source, p.account_id, p.first_name, p.last_name,"
    " i.id_type, i.value"
    " FROM ({page}) r"
    " JOIN customer_profile p ON p.org_id = :org_id AND p.customer_id = r.referee_id"
    " LEFT JOIN customer_identifier i ON i.org_id = :org_id AND i.customer_id = r.referee_id"
    " AND i.source = p.source AND i.account_id = p.account_id"
    " AND i.id_type IN ('mobile', 'email', 'externalId')"
    " ORDER BY r.added_at, r.referee_id, p.source, p.account_id, i.id_type, i.value"
)
_REFEREES = Q(_REFEREES_SQL.format(page=_REFEREE_PAGE.format(campaign="")))
_REFEREES_IN = Q(
    _REFEREES_SQL.format(page=_REFEREE_PAGE.format(campaign=" AND campaign_token = :campaign_token"))
)
_COUNT_REFEREES = Q("SELECT count(*) FROM referral WHERE org_id = :org_id AND referrer_id = :referrer_id")
_COUNT_REFEREES_IN = Q(
    "SELECT count(*) FROM referral"
    " WHERE org_id = :org_id AND referrer_id = :referrer_id AND campaign_token = :campaign_token"
)
_COLUMNS_INCENTIVE = (
    "kind, role, referee_id, referrer_id, campaign_token, points, program_id, coupon_id, coupon_code,"
    " series_id, created_at"
)
_INCENTIVES = Q(
    f"SELECT {_COLUMNS_INCENTIVE} FROM referral_incentive"
    " WHERE org_id = :org_id AND beneficiary_id = :beneficiary_id"
    " ORDER BY created_at, referee_id, kind"
)
_INCENTIVES_IN = Q(
    f"SELECT {_COLUMNS_INCENTIVE} FROM referral_incentive"
    " WHERE org_id = :org_id AND beneficiary_id = :beneficiary_id AND campaign_token = :campaign_token"
    " ORDER BY created_at, referee_id, kind"
)


@dataclass(frozen=True, slots=True)
class Inviter:
    referrer_id: int
    campaign_token: str
    invited_on: datetime


@dataclass(frozen=True, slots=True)
class Invitee:
    type: str
    identifier: str
    invited_on: datetime
    till_id: int
    campaign_token: str


@dataclass
class Referee:
    customer_id: int
    event_type: str
    added_at: datetime
    first_name: str = ""
    last_name: str = ""
    # The first value of each type (mobile, email, externalId), INSTORE's profile first.
    identifiers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Incentive:
    kind: str
    role: str
    referee_id: int
    referrer_id: int
    campaign_token: str
    points: int | None
    program_id: int | None
    coupon_id: int | None
    coupon_code: str | None
    series_id: int | None
    created_at: datetime


class ReferralRepository:
    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def code_of(self, org_id: int, customer_id: int) -> str | None:
        value = await self.tx.val(_CODE_OF, org_id=org_id, customer_id=customer_id)
        return None if value is None else str(value)

    async def owner_of(self, org_id: int, code: str) -> int | None:
        """The customer a referral code belongs to."""
        value = await self.tx.val(_OWNER_OF, org_id=org_id, code=code)
        return None if value is None else int(value)

    async def add_code(self, org_id: int, customer_id: int, code: str, now: datetime) -> None:
        await self.tx.insert(
            CODE, [{"org_id": org_id, "customer_id": customer_id, "code": code, "created_at": now}]
        )

    async def invited(
        self, org_id: int, referrer_id: int, id_type: str, identifiers: Sequence[str]
    ) -> set[str]:
        """Which of these identifiers (of one type) the referrer has invited already."""
        rows = await self.tx.all(
            _INVITED, org_id=org_id, referrer_id=referrer_id, id_type=id_type, identifiers=list(identifiers)
        )
        return {str(r[0]) for r in rows}

    async def add_invitations(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.tx.insert(INVITATION, rows)

    async def inviters(self, org_id: int, id_type: str, identifier: str) -> list[Inviter]:
        """Who invited this identifier, earliest invitation first."""
        rows = await self.tx.all(_INVITERS, org_id=org_id, id_type=id_type, identifier=identifier)
        return [Inviter(int(r[0]), r[1], r[2]) for r in rows]

    async def add_referral(self, row: dict[str, Any], incentives: Sequence[dict[str, Any]]) -> None:
        await self.tx.insert(REFERRAL, [row])
        if incentives:
            await self.tx.insert(INCENTIVE, incentives)

    async def invitees(
        self, org_id: int, referrer_id: int, campaign: str | None, limit: int, offset: int
    ) -> tuple[list[Invitee], int]:
        """A page of the referrer's invitations, oldest first, and their number."""
        params: dict[str, Any] = {"org_id": org_id, "referrer_id": referrer_id}
        if campaign is not None:
            params["campaign_token"] = campaign
        total = await self.tx.val(_COUNT_INVITEES if campaign is None else _COUNT_INVITEES_IN, **params)
        rows = await self.tx.all(
            _INVITEES if campaign is None else _INVITEES_IN, limit=limit, offset=offset, **params
        )
        return [Invitee(r[0], r[1], r[2], int(r[3]), r[4]) for r in rows], int(total or 0)

    async def referees(
        self, org_id: int, referrer_id: int, campaign: str | None, limit: int, offset: int
    ) -> tuple[list[Referee], int]:
        """A page of the referrer's referees, earliest first, and their number."""
        params: dict[str, Any] = {"org_id": org_id, "referrer_id": referrer_id}
        if campaign is not None:
            params["campaign_token"] = campaign
        total = await self.tx.val(_COUNT_REFEREES if campaign is None else _COUNT_REFEREES_IN, **params)
        rows = await self.tx.all(
            _REFEREES if campaign is None else _REFEREES_IN, limit=limit, offset=offset, **params
        )
        out: dict[int, Referee] = {}
        named: set[int] = set()
        for r in rows:
            referee_id = int(r[0])
            referee = out.get(referee_id)
            if referee is None:
                referee = out[referee_id] = Referee(referee_id, r[1], r[2], r[5], r[6], {})
            # The INSTORE profile names the referee when it has one, else the first profile.
            if r[3] == "INSTORE" and referee_id not in named:
                referee.first_name, referee.last_name = r[5], r[6]
                named.add(referee_id)
            if r[7] is not None:
                referee.identifiers.setdefault(r[7], r[8])
        return list(out.values()), int(total or 0)

    async def incentives(self, org_id: int, beneficiary_id: int, campaign: str | None) -> list[Incentive]:
        """What referrals granted the customer, oldest first."""
        params: dict[str, Any] = {"org_id": org_id, "beneficiary_id": beneficiary_id}
        if campaign is not None:
            params["campaign_token"] = campaign
        rows = await self.tx.all(_INCENTIVES if campaign is None else _INCENTIVES_IN, **params)
        return [
            Incentive(
                r[0],
                r[1],
                int(r[2]),
                int(r[3]),
                r[4],
                None if r[5] is None else int(r[5]),
                None if r[6] is None else int(r[6]),
                None if r[7] is None else int(r[7]),
                r[8],
                None if r[9] is None else int(r[9]),
                r[10],
            )
            for r in rows
        ]
