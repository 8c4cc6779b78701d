"""Request bodies and answer shapes of points transfers and goodwill requests (v2 style)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from patron.api.v2.schemas import ErrorItem, Out, Pagination, WarningItem
from patron.api.v2.wire import _Wire
from patron.customers.commands import INT64_MAX
from patron.loyalty import goodwill as gw
from patron.loyalty import transfers as pt


class TransferBody(_Wire):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"toCustomerId": 343015432, "points": 15, "notes": "For James"}]}
    )

    to_customer_id: int = Field(ge=1, le=INT64_MAX)
    points: int = Field(ge=1, le=INT64_MAX)
    program_id: int | None = Field(default=None, ge=1, le=INT64_MAX)
    notes: str | None = Field(default=None, max_length=pt.MAX_NOTES)

    def command(self, from_customer_id: int) -> pt.TransferPoints:
        return pt.TransferPoints(
            from_customer_id=from_customer_id,
            to_customer_id=self.to_customer_id,
            points=self.points,
            program_id=self.program_id,
            notes=self.notes,
        )


class GoodwillBody(_Wire):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"goodwillType": "POINTS", "points": 450, "reason": "Late delivery", "comments": "sample"}
            ]
        }
    )

    goodwill_type: Literal["POINTS"]
    points: int = Field(ge=1, le=gw.MAX_POINTS)
    reason: str = Field(max_length=gw.MAX_TEXT)
    comments: str | None = Field(default=None, max_length=gw.MAX_TEXT)
    program_id: int | None = Field(default=None, ge=1, le=INT64_MAX)
    auto_approve: bool = False

    def command(self, customer_id: int) -> gw.RequestGoodwill:
        return gw.RequestGoodwill(
            customer_id=customer_id,
            points=self.points,
            reason=self.reason,
            goodwill_type=self.goodwill_type,
            comments=self.comments,
            program_id=self.program_id,
            auto_approve=self.auto_approve,
        )


class GoodwillDecisionBody(_Wire):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "APPROVED", "approvedValue": 400, "comments": "checked"}]}
    )

    status: Literal["APPROVED", "REJECTED"]
    approved_value: int | None = Field(default=None, ge=1, le=gw.MAX_POINTS)
    comments: str | None = Field(default=None, max_length=gw.MAX_TEXT)

    def command(self, customer_id: int, request_id: int) -> gw.DecideGoodwill:
        return gw.DecideGoodwill(
            customer_id=customer_id,
            request_id=request_id,
            status=self.status,
            approved_value=self.approved_value,
            comments=self.comments,
        )


class TransferParty(Out):
    user_id: int
    first_name: str
    last_name: str


class TransferItem(Out):
    points_transfer_date: str = Field(description="In the org's time zone: YYYY-MM-DD HH:MM:SS.")
    points_transferred: int
    transfer_id: int
    transfer_type: Literal["DEDUCTION", "ADDITION"]
    transferred_from: TransferParty
    transferred_to: TransferParty
    notes: str
    program_name: str
    program_id: int


class TransferSummary(Out):
    data: list[TransferItem]
    warnings: list[WarningItem]
    errors: list[ErrorItem]


class GoodwillActor(Out):
    """The till that added or decided a request, in the seed's user shape."""

    id: int
    code: str
    description: str
    name: str
    type: Literal["TILL"]
    admin_type: str
    is_active: bool
    is_ou_enabled: bool
    time_zone_id: int
    currency_id: int
    language_id: int


class GoodwillItem(Out):
    id: int
    added_by: GoodwillActor
    updated_by: GoodwillActor
    added_on: datetime
    updated_on: datetime
    user_id: int
    request_id: int
    goodwill_type: Literal["POINTS"]
    goodwill_status: Literal["PENDING", "APPROVED", "REJECTED"]
    comments: str
    reason: str
    approved_value: str | None = Field(description="The points credited, as the seed writes them (text).")
    updated_comments: str
    one_step: bool
    program_id: int
    points: int = Field(description="The points asked for.")


class GoodwillPage(Out):
    pagination: Pagination
    data: list[GoodwillItem]
    warnings: list[WarningItem]
    errors: list[ErrorItem]
