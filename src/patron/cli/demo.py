"""`patron demo load`: a realistic configuration and customers, so the API answers with data."""

from __future__ import annotations

import asyncio
import random
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from patron.cli.database import run_with_database
from patron.config import Settings
from patron.context import Actor, RequestContext
from patron.customers.commands import IdentifierInput, ProfileInput, RegisterCustomer
from patron.customers.register import register
from patron.db.engine import Database
from patron.db.uow import UnitOfWork
from patron.errors import PatronError
from patron.orgs import service as orgs
from patron.orgs.config import OrgConfig
from patron.orgs.repository import TillRow

app = typer.Typer(help="Fill an org with demo data.", no_args_is_help=True)

FIRST = (
    "Aarav",
    "Ananya",
    "Tom",
    "Priya",
    "Rahul",
    "Meera",
    "Vikram",
    "Sara",
    "Arjun",
    "Isha",
    "Kabir",
    "Diya",
    "Rohan",
    "Tara",
    "Nikhil",
    "Asha",
    "Dev",
    "Leela",
    "Omar",
    "Zoya",
    "Li",
    "Mei",
    "Wei",
    "Chen",
)
LAST = (
    "Sharma",
    "Iyer",
    "Sawyer",
    "Patel",
    "Reddy",
    "Nair",
    "Singh",
    "Khan",
    "Gupta",
    "Das",
    "Mehta",
    "Rao",
    "Kapoor",
    "Joshi",
    "Bose",
    "Wang",
    "Zhang",
    "Liu",
    "Menon",
    "Pillai",
)
CITIES = ("Bangalore", "Mumbai", "Delhi", "Chennai", "Pune", "Hyderabad", "Kolkata")

DEMO_CONFIG = {
    "primaryIdentifier": "mobile",
    "defaultPhoneRegion": "IN",
    "timezone": "Asia/Kolkata",
    "sources": {"INSTORE": [], "WECHAT": ["WECHAT-CM", "WECHAT-2"], "MOBILE_APP": ["APP-1"], "WEBSITE": []},
    "extendedFields": [
        {"name": "gender", "type": "string", "values": ["Male", "Female", "Other"]},
        {"name": "city", "type": "string"},
        {"name": "dateOfBirth", "type": "date"},
    ],
    "customFields": ["employee", "favouriteStore"],
    "cardSeries": [
        {"seriesId": 19, "seriesCode": "GOLDPHY98", "name": "Gold", "statusLabels": ["ACTIVE", "BLOCKED"]}
    ],
    "statusLabels": ["Active", "Inactive", "Pending Deletion", "Deleted"],
}


def demo_customer(rng: random.Random, index: int, base_mobile: int) -> RegisterCustomer:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    mobile = str(base_mobile + index)
    identifiers = [
        IdentifierInput("mobile", mobile),
        IdentifierInput("email", f"{first}.{last}.{mobile[-6:]}@example.com".lower()),
    ]
    if index % 3 == 0:
        identifiers.append(IdentifierInput("externalId", f"EXT{mobile[-8:]}"))
    if index % 5 == 0:
        identifiers.append(
            IdentifierInput("cardnumber", f"GOLD{mobile[-10:]}", series_id=19, status_label="ACTIVE")
        )
    loyalty = "loyalty" if index % 10 else "non_loyalty"
    if loyalty == "non_loyalty":
        identifiers = [i for i in identifiers if i.type != "cardnumber"]
    return RegisterCustomer(
        loyalty_type=loyalty,
        profiles=(
            ProfileInput(
                "INSTORE",
                None,
                first,
                last,
                tuple(identifiers),
                None,
                {"employee": "true" if index % 17 == 0 else "false"},
            ),
        ),
        extended_fields={"gender": rng.choice(("Male", "Female")), "city": rng.choice(CITIES)},
    )


async def _demo_setup(uow: UnitOfWork, org_id: int) -> tuple[TillRow, OrgConfig]:
    tills = await uow.orgs.tills(org_id)
    if not tills:
        raise PatronError(404, f"Org {org_id} does not exist or has no till.")
    config = await orgs.replace_config(uow, org_id, OrgConfig.model_validate(DEMO_CONFIG))
    return tills[0], config


async def load(db: Database, org_id: int, count: int, seed: int, *, in_flight: int = 64) -> int:
    """Register `count` demo customers, `in_flight` at a time so their commits group."""
    till, config = await db.write(_demo_setup, org_id)
    actor = Actor(till.till_id, till.code, till.name, till.store_code, till.store_name)
    rng = random.Random(seed)
    base_mobile = 919800000000 + rng.randrange(0, 90_000_000)
    created = 0
    slots = asyncio.Semaphore(in_flight)
    columns = (TextColumn("registering"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("customers", total=count)

        async def one(index: int, cmd: RegisterCustomer) -> None:
            nonlocal created
            ctx = RequestContext(org_id, actor, f"demo-{seed}-{index}", config)
            try:
                await db.write(register, ctx, cmd)
                created += 1
            except PatronError:
                pass  # an identifier an earlier load already used: skip it
            finally:
                slots.release()
                progress.advance(task)

        async with asyncio.TaskGroup() as group:
            for index in range(count):
                await slots.acquire()
                group.create_task(one(index, demo_customer(rng, index, base_mobile)))
    return created


@app.command("load")
def load_command(
    org: Annotated[int, typer.Option("--org", help="Org id.")],
    customers: Annotated[
        int, typer.Option(help="How many customers to register.", min=0, max=1_000_000)
    ] = 200,
    seed: Annotated[int, typer.Option(help="Random seed (a new seed gives new customers).")] = 1,
) -> None:
    """Give the org the demo configuration and register customers through the service."""
    created = run_with_database(Settings(), lambda db: load(db, org, customers, seed))
    typer.echo(f"registered {created} customers in org {org}")
