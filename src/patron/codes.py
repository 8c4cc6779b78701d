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
    1060: "Batch limit exceeded.",
    # Loyalty operations of Patron's own (docs/loyalty.md): 2001-2099.
    2001: "The org has no loyalty program configured.",
    2002: "No loyalty program {x} is configured.",
    2003: "A purchase with bill number {x} is already recorded for this customer.",
    2004: "No purchase with bill number {x} to return.",
    2005: "Bill {x} is returned in full already.",
    2010: "Not enough points: the customer has {x} points in the program.",
    # Points transfers and goodwill requests (loyalty/transfers.py, loyalty/goodwill.py).
    2020: "Points cannot be transferred to the same customer.",
    2025: "No goodwill request {x} for this customer.",
    2026: "The goodwill request is {x} already; only a PENDING request can be approved or rejected.",
    2027: "approvedValue must be from 1 to the {x} points requested.",
    # Groups (hierarchies) and their points pools (loyalty/groups.py): 2060-2079.
    2060: "No group {x} in this org.",
    2061: "The customer is not a member of group {x}.",
    2062: "Program {x} is not pooled by this group's group program (programIds).",
    2063: "Hierarchy {x} is not configured: no group program lists it in hierarchyCodes.",
    2064: (
        "The customer is a member of another group of this hierarchy (group {x});"
        " Update Association Details moves it."
    ),
    2065: "A customer cannot be a member of its own group.",
    2066: "The customer heads a group of this hierarchy (group {x}) and cannot be a member of another one.",
    2067: "The parent is a member of a group of this hierarchy (group {x}) and cannot head one.",
    2068: "Role unchanged: the customer has role {x} in this group; Update Association Details changes it.",
    2069: "The customer is in no group of hierarchy {x}.",
    2070: "The identifiers name more than one customer.",
    2071: "The group's program {x} is no longer configured.",
    # Partner programs (loyalty/partners.py).
    2040: "No partner program {x} is configured.",
    2041: "Partner program {x} is not tier-based: it takes no partnerTierNumber or partnerTierExpiryDate.",
    2042: "partnerTierNumber {x} is not a tier of this partner program.",
    2043: "{x} must be a calendar date written YYYY-MM-DD.",
    2044: "The customer is linked to partner program {x} already.",
    2045: "The customer is not linked to partner program {x}.",
    2046: "membershipNumber must be 1 to 100 characters.",
    # `patron loyalty rebuild` (loyalty/rebuild.py).
    2095: "The points ledger holds an entry no summary can take ({x}); fix the ledger first.",
    # Rate limits per org and operation (security/ratelimit.py).
    2120: "Rate limit of {x} requests per hour reached for this operation.",
    # Subscriptions (engagement/subscriptions.py, docs/engagement.md): the seed's 1101-1106
    # and ours, 2100-2119.
    1101: "Invalid channel type.",
    1102: "Invalid priority type.",
    1103: "Invalid scope.",
    1106: "Invalid subscription status passed.",
    2100: "subscriptions must list 1 to {x} entries.",
    2101: "The channel {x} appears twice for one priority and source account in this request.",
    # Change and retro requests (engagement/change_requests.py, engagement/retro.py): 2160-2179.
    2160: "The identifier change waits for approval as change request {x}; nothing is changed yet.",
    2161: "No change request {x} for this customer.",
    2162: "The change request is {x} already; only a PENDING request can be approved or rejected.",
    2163: "The change can no longer be applied; the request stays PENDING. Cause: {x}",
    2165: "No purchase {x} in this org.",
    2166: "The purchase is older than the {x} days this org allows for a retro request.",
    2167: "The purchase is attached to this customer already.",
    2168: "A retro request for this purchase is pending already (request {x}).",
    2169: "No retro request {x} for this customer.",
    2170: "The retro request is {x} already; only a PENDING request can be approved or rejected.",
    2171: "Several purchases have bill number {x}; name one by transactionId.",
    2172: "Transaction {x} is a return; only a purchase can be attached to a customer.",
    2173: "Bill {x} has returns recorded; it cannot move to another customer.",
    # Coupons (engagement/coupons.py, docs/engagement.md): 2130-2149.
    2130: "No coupon series {x} is configured.",
    2131: "No coupon with this code.",
    2132: "The coupon was issued to another customer.",
    2133: "The coupon expired on {x}.",
    2134: "The coupon is redeemed {x} times already, its maximum.",
    2135: "Give exactly one of mobile, email, externalId or id.",
    2136: (
        "Unknown coupon status {x}; use Active, Redeemed, Unexpired, Unredeemed, Active_Redeemed,"
        " Active_Unredeemed, Expired_Redeemed or Expired_Unredeemed."
    ),
    2137: "code is required: the coupon code to redeem.",
    2138: "No free coupon code found for series {x} after several draws; raise its codeLength.",
    # Referrals (engagement/referrals.py, docs/engagement.md): the seed's 1202-1206 and 1222,
    # and ours, 2150-2159.
    1202: "Invalid campaign token.",
    1203: "Invalid campaign configured.",
    1204: "The customer may not be eligible for the referral program.",
    1205: "Unable to find the referrer in the specific campaign.",
    1206: "Failed to add referral. Referral type is not supported.",
    1222: "Internal error occurred with the referral system.",
    2150: "The invited {x} is not valid.",
    2151: "customerReferrals must list 1 to {x} referrers.",
    2152: "A request invites 1 to {x} people in all.",
    2153: "invitedOn is not a date and time (YYYY-MM-DD HH:MM:SS or ISO 8601).",
    2154: "A customer cannot invite themselves ({x}).",
    2155: "customer: name the referrer by id, mobile, email or externalId.",
    2156: "Referral code {x} is unknown in this org; the customer was registered without a referrer.",
    2157: "The referral was not applied: {x}",
    2158: "No referral incentive for the referee: {x}",
    # Customer images (engagement/images.py, docs/engagement.md): 2180-2199.
    2180: "The image is larger than {x} bytes.",
    2181: "The file is not a JPEG, PNG or WebP image.",
    2182: "The file claims to be a {x} image but cannot be decoded as one.",
    2183: "The image has more than {x} pixels (a possible decompression bomb); it is refused.",
    2184: "Send the image as the multipart/form-data field file.",
    2185: "No image with this handle.",
    # Merge undo (customers/merge_undo.py, docs/merges.md): 2200-2209.
    2200: "No merge {x} in this org.",
    2201: "Merge {x} is undone already.",
    2202: "The merge is older than the {x} days this org allows for an undo (mergeUndoDays).",
    2203: "The merge's change set was erased with a customer's personal data; it cannot be undone.",
    2204: "Customer {x} was merged into another customer since; undo that merge first.",
    2205: "Nothing of the registration can be split off: {x}",
    2206: (
        "The survivor's balance in program {x} is below zero after the undo: points it spent"
        " since the merge were earned by entries that went back."
    ),
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
