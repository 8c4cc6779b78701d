"""`patron export customers`: an org's customers streamed to a file, page by page.

Customers are read in pages of `PAGE` ids (keyset paging on the customer id, one read
transaction per page), each page written out before the next is read, so memory holds one
page whatever the org's size. Customers merged into another (their rows moved to it) are
not listed: the customer they joined carries their data.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

import orjson

from patron.customers.cards import series_names
from patron.customers.views import CustomerView
from patron.db.engine import Database
from patron.db.uow import UnitOfWork
from patron.orgs import service as orgs
from patron.orgs.config import OrgConfig
from patron.transfer import mapping
from patron.transfer.importing import TransferFailed
from patron.transfer.repository import TransferRepository

FORMATS = ("jsonl", "csv")
PAGE = 500


@dataclass(frozen=True, slots=True)
class Exported:
    customers: int
    last_id: int


async def _config(uow: UnitOfWork, org_id: int) -> OrgConfig | None:
    if await uow.orgs.get(org_id) is None:
        return None
    return await orgs.get_config(uow, org_id)


async def _page(
    uow: UnitOfWork, org_id: int, after: int, size: int, names: dict[int, str]
) -> tuple[list[int], list[CustomerView]]:
    ids = await TransferRepository(uow.tx).customer_page(org_id, after, size)
    views = []
    for customer_id in ids:
        view = await uow.customers.view(org_id, customer_id, names)
        if view is not None:
            views.append(view)
    return ids, views


async def export_customers(
    db: Database,
    out: TextIO,
    *,
    org_id: int,
    fmt: str,
    page: int = PAGE,
    progress: Callable[[int], None] | None = None,
) -> Exported:
    """Write every customer of the org to `out`, jsonl (Get Customer's shape) or csv (the
    import's mapping)."""
    if fmt not in FORMATS:
        raise TransferFailed(f"--format is one of {', '.join(FORMATS)}, not {fmt!r}")
    config = await db.read(_config, org_id)
    if config is None:
        raise TransferFailed(f"org {org_id} does not exist")
    names = series_names(config)
    writer = None
    header: list[str] = []
    if fmt == "csv":
        header = mapping.export_header(config)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
    count, after = 0, 0
    while True:
        ids, views = await db.read(_page, org_id, after, page, names)
        if not ids:
            break
        for view in views:
            if writer is not None:
                writer.writerows(mapping.export_rows(view, header))
            else:
                out.write(orjson.dumps(mapping.export_json(view, config)).decode() + "\n")
        count += len(views)
        after = ids[-1]
        if progress is not None:
            progress(count)
    out.flush()
    return Exported(count, after)
