"""Request bodies of Patron's own loyalty operations (v2 style, camelCase)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field

from patron.api.v2.wire import _Wire
from patron.customers.commands import INT64_MAX, CustomerRef, IdentifierRef, SourceAccount
from patron.errors import InvalidInput
from patron.loyalty import commands as c


class CustomerBody(_Wire):
    """A customer named in a body: `{"id"}`, or an identifier in a source (ALL by default)."""

    id: int | None = Field(default=None, ge=1, le=INT64_MAX)
    source: str | None = Field(default=None, max_length=20)
    account_id: str | None = Field(default=None, max_length=100)
    identifier_name: str | None = Field(default=None, max_length=40)
    identifier_value: str | None = Field(default=None, max_length=255)

    def address(self) -> c.CustomerAddress:
        if self.id is not None:
            return c.CustomerAddress(CustomerRef(customer_id=self.id))
        if not self.identifier_name:
            raise InvalidInput(400, detail="customer: give id, or identifierName and identifierValue.")
        return c.CustomerAddress(
            CustomerRef(identifier=IdentifierRef(self.identifier_name, self.identifier_value or "")),
            SourceAccount(self.source or "ALL", self.account_id),
        )


class TransactionBody(_Wire):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "REGULAR",
                    "billNumber": "B-1001",
                    "billAmount": 1250.5,
                    "customer": {"identifierName": "mobile", "identifierValue": "919845012345"},
                }
            ]
        }
    )

    type: Literal["REGULAR", "RETURN"]
    bill_number: str = Field(min_length=1, max_length=100)
    bill_amount: Decimal = Field(gt=0, lt=Decimal("1000000000000"), decimal_places=2)
    bill_date: AwareDatetime | None = None
    program_id: int | None = Field(default=None, ge=1, le=INT64_MAX)
    # Absent: a purchase without a customer, attached later by a retro request.
    customer: CustomerBody | None = None
    line_items: list[dict[str, Any]] = Field(default_factory=list, max_length=500)

    def command(self) -> c.RecordTransaction:
        return c.RecordTransaction(
            type=self.type,
            bill_number=self.bill_number,
            bill_amount=self.bill_amount,
            customer=None if self.customer is None else self.customer.address(),
            bill_date=self.bill_date,
            program_id=self.program_id,
            line_items=self.line_items,
        )


class RedeemBody(_Wire):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"customer": {"id": 1001}, "points": 50, "billNumber": "B-1002"}]}
    )

    customer: CustomerBody
    program_id: int | None = Field(default=None, ge=1, le=INT64_MAX)
    points: int = Field(ge=1, le=INT64_MAX)
    bill_number: str | None = Field(default=None, min_length=1, max_length=100)
    reason: str | None = Field(default=None, max_length=500)

    def command(self) -> c.RedeemPoints:
        return c.RedeemPoints(
            customer=self.customer.address(),
            points=self.points,
            program_id=self.program_id,
            bill_number=self.bill_number,
            reason=self.reason,
        )
