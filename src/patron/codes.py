"""The result codes of the v2 customers API (seed 003), with the seed's own messages.

Messages are the seed's text verbatim; where a code's text has a placeholder the seed
writes as "X" or "{x}", the caller passes the value.
"""

from __future__ import annotations

MESSAGES: dict[int, str] = {
    400: "Input is invalid. Please check request parameters or input xml/json.",
    401: "Authentication failed: send HTTP Basic credentials of an active till.",
    404: "Not found.",
    413: "Request body is too large.",
    429: "Too many failed logins for this username; retry later.",
    816: "Customer not found for organization.",
    1001: "Unable to register. Invalid mobile number.",
    1002: "Unable to register. Invalid email id.",
    1003: "Unable to register. Invalid external id.",
    1006: "Unable to register. Mobile number is required.",
    1007: (
        "Unable to register customer. No valid primary identifier mobile number, "
        "email ID, or external ID passed."
    ),
    1013: "Customer is not registered for the loyalty Program.",
    1014: "Customer is registered already.",
    1016: "Unable to register. Email provided already exists for some other user.",
    1017: "Provided Custom Field is invalid.",
    1032: "A customer already exists with the same mobile number.",
    1033: "A customer already exists with the same external id.",
    1034: "Unable to register. Registration date is not within the allowed past or future date limit.",
    1039: "Unable to register. Email ID is required.",
    1041: "Customer id change request failed.",
    1043: "Unable to register. Customer's external id is required.",
    1045: "No valid identifier (mobile/email) passed for non-loyalty customer.",
    1046: "Conversion of loyalty customer to non-loyalty is not allowed.",
    1048: "Customer's email id is required to convert to loyalty customer.",
    1049: "Customer's external id is required to convert to loyalty customer.",
    # Loyalty operations of Patron's own (docs/loyalty.md): 2001-2099.
    2001: "The org has no loyalty program configured.",
    2002: "No loyalty program {x} is configured.",
    2003: "A purchase with bill number {x} is already recorded for this customer.",
    2004: "No purchase with bill number {x} to return.",
    2005: "Bill {x} is returned in full already.",
    2010: "Not enough points: the customer has {x} points in the program.",
    8007: "Unable to update. The identifier is already registered in the same source.",
    8008: "The new identifier already exists in the same source.",
    8009: "Unable to identify the customer. Customer id is invalid.",
    8010: "communication channel is invalid.",
    8011: "Invalid source account passed.",
    8012: "Invalid source passed.",
    8013: ("Customer identifier is invalid. Also check if the parameter identifierName is passed correctly."),
    8015: "No customer found with the given identifier.",
    8045: "Account id is not passed.",
    8050: "Same Customer found in other sources,Combining",
    8051: "Same identifier found in other source. Merging into the account with user id {x}.",
    8053: (
        "Each identifier is registered with a different customer in other source. Unable to merge accounts."
    ),
    8055: "Invalid email id.",
    8056: "Invalid mobile number.",
    8057: "Invalid email id passed in the communication channel.",
    8058: "Invalid mobile number passed in the communication channel.",
    8064: "External id validation failed.",
    8065: "No customer found in the given source with the given identifier.",
    8066: "Unable to combine,User id already used in same source.",
    8067: "Same customer found in other source. The account is already merged with user id {x}.",
    8069: "The customer is merged into another account.",
    91006: "{x} update is not allowed.",
    91020: "Invalid TILL passed for registration.",
    91015: "Failed to update extended fields; or field {x} length too long.",
}


def message(code: int, x: object | None = None, detail: str | None = None) -> str:
    """Return the seed's message for a code, its placeholder filled and a detail appended."""
    text = MESSAGES.get(code, "Request failed.")
    if x is not None:
        text = text.replace("{x}", str(x))
    if detail:
        text = f"{text} {detail}"
    return text
