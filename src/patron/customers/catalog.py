"""The fixed vocabulary of seed 003: sources, identifier types, loyalty types."""

from __future__ import annotations

# Every source the seed names (003:L244). A source's accounts come from the org config.
SOURCES: tuple[str, ...] = (
    "INSTORE",
    "FACEBOOK",
    "WEB_ENGAGE",
    "WECHAT",
    "MARTJACK",
    "TMALL",
    "TAOBAO",
    "JD",
    "ECOMMERCE",
    "WEBSITE",
    "LINE",
    "MOBILE_APP",
)
# Sources that the seed calls multi-account somewhere (I-40); the default config gives
# each of them one account. An org's own config decides for itself.
DEFAULT_MULTI_ACCOUNT: tuple[str, ...] = ("FACEBOOK", "WEB_ENGAGE", "WECHAT", "LINE", "MOBILE_APP")
ALL_SOURCES = "ALL"

CARD = "cardnumber"
# Customer identifier types (003:L251, L519) plus unionId (used by the samples) and cards.
IDENTIFIER_TYPES: tuple[str, ...] = (
    "mobile",
    "email",
    "externalId",
    "wechat",
    "martjackId",
    "fbId",
    "tmall_uname",
    "cuid",
    "ali_uname",
    "jd_uname",
    "vip_uname",
    "line",
    "unionId",
    CARD,
)
# Spellings the seed uses for the card type (I-17), all read as `cardnumber`.
TYPE_ALIASES = {"card": CARD, "cardNumber": CARD, "cardnumber": CARD}

# identifierName values each lookup operation accepts (ID-6).
LOOKUP_NAMES = ("mobile", "email", "externalId", CARD, "cardExternalId", "wechat", "martjackId", "fbId")
UPDATE_LOOKUP_NAMES = ("mobile", "email", "externalId")
DETAILS_LOOKUP_NAMES = ("mobile", "email", "externalId", CARD, "cardExternalId")

LOYALTY = "loyalty"
NON_LOYALTY = "non_loyalty"
LOYALTY_TYPES = (LOYALTY, NON_LOYALTY)

COMM_CHANNEL_TYPES = ("mobile", "email", "wechat", "ios", "android", "line", "mobilePush")
# mobilePush is supported only for these sources (003:L432).
MOBILE_PUSH_SOURCES = ("MOBILE_APP", "INSTORE", "MARTJACK", "ECOMMERCE", "WEBSITE")

EMBED_VALUES = (
    "points",
    "subscriptions",
    "mlp",
    "promotionalPoints",
    "expirySchedules",
    "expiredPoints",
    "CUSTOMERIMAGE",
)


def canonical_type(raw: str) -> str | None:
    """Return the canonical identifier type for a spelling, or None if it is not one."""
    name = TYPE_ALIASES.get(raw, raw)
    return name if name in IDENTIFIER_TYPES else None
