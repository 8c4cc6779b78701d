"""Who is asking, in which org, for which request: passed to every service call."""

from __future__ import annotations

from dataclasses import dataclass

from patron.orgs.config import OrgConfig


@dataclass(frozen=True, slots=True)
class Actor:
    """The till a change is attributed to (events report it as enteredBy)."""

    till_id: int
    code: str
    name: str
    store_code: str
    store_name: str


@dataclass(frozen=True, slots=True)
class RequestContext:
    org_id: int
    actor: Actor
    request_id: str
    config: OrgConfig
    # Where the request came in: "v2" (the customers API and Patron's /v2 additions), "user"
    # (the user namespace), "console" (the operator console), "import" (`patron import`) or
    # "system" (Patron's own jobs).
    # The change log keeps it, so a customer's history says which surface made each change.
    surface: str = "v2"
