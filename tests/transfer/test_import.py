"""`patron import customers`: JSON lines and CSV through the API's rules, refusals with the
API's codes, merges, events or none, resume and re-run, and equivalence with the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Harness, OrgClient
from tests.support import email, mobile, outbox, register_body
from tests.transfer.support import (
    cli,
    customer_ids,
    event_names,
    lookup,
    normalise,
    refused,
    run_import,
    view,
    write_jsonl,
)


async def test_jsonl_lines_are_registered_merged_or_refused_with_the_apis_codes(
    client: OrgClient, harness: Harness, tmp_path: Path
) -> None:
    m1, m2, e1, e2 = mobile(), mobile(), email(), email()
    lines: list[Any] = [
        register_body(m1, extra=[{"type": "email", "value": e1}]),
        "{not json",
        register_body("12"),  # not a mobile number: 1001
        register_body(m2, extra=[{"type": "email", "value": e2}]),
        register_body(m1, source="WECHAT", account_id="WECHAT-CM", first="Tommy"),  # merge: 8050
        register_body(m2, extra=[{"type": "email", "value": email()}]),  # mobile taken in INSTORE: 1032
        {  # the mobile is one customer's, the email another's: 8053
            "loyaltyInfo": {"loyaltyType": "loyalty"},
            "profiles": [
                {
                    "source": "MARTJACK",
                    "identifiers": [{"type": "mobile", "value": m1}, {"type": "email", "value": e2}],
                }
            ],
        },
        {"profiles": []},  # no loyalty type: 400
    ]
    path = write_jsonl(tmp_path / "customers.jsonl", lines)

    summary = await run_import(harness, client, path, batch_size=3)

    assert (summary.read, summary.imported, summary.merged, summary.skipped, summary.refused) == (
        8,
        2,
        1,
        0,
        5,
    )
    assert [(r["line"], r["code"]) for r in refused(path)] == [
        (2, 400),
        (3, 1001),
        (6, 1032),
        (7, 8053),
        (8, 400),
    ]
    assert all(r["message"] for r in refused(path))
    first = await lookup(client, "INSTORE", "mobile", m1)
    assert await lookup(client, "WECHAT", "mobile", m1, "WECHAT-CM") == first
    body = await view(client, first)
    assert sorted(p["source"] for p in body["profiles"]) == ["INSTORE", "WECHAT"]
    assert await event_names(harness, client.org_id) == ["customerAdded", "customerAdded", "customerUpdated"]


async def test_csv_rows_map_to_registrations_and_group_profiles_by_customer(
    client: OrgClient, harness: Harness, tmp_path: Path
) -> None:
    m1, m2 = mobile(), mobile()
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer,loyaltyType,source,accountId,firstName,lastName,mobile,email,wechat,custom.employee,"
        "extended.city,extended.age\n"
        f"A,loyalty,INSTORE,,Tom,Sawyer,{m1},tom@example.com,,true,Pune,41\n"
        f"A,,WECHAT,WECHAT-CM,Tommy,,,,wx-{m1},,,\n"
        f",non_loyalty,INSTORE,,Huck,Finn,{m2},,,,,\n"
        ",loyalty,MARS,,Nobody,,919812345678,,,,,\n"
    )

    summary = await run_import(harness, client, path)

    assert (summary.read, summary.imported, summary.refused) == (3, 2, 1)
    assert [r["line"] for r in refused(path)] == [5]
    tom = await view(client, await lookup(client, "INSTORE", "mobile", m1))
    assert sorted((p["source"], p["firstName"]) for p in tom["profiles"]) == [
        ("INSTORE", "Tom"),
        ("WECHAT", "Tommy"),
    ]
    wechat = next(p for p in tom["profiles"] if p["source"] == "WECHAT")
    assert wechat["identifiers"] == [{"type": "wechat", "value": f"wx-{m1}"}]
    assert tom["extendedFields"] == {"city": "Pune", "age": 41}
    assert tom["profiles"][0]["fields"] == {"employee": "true"}
    huck = await view(client, await lookup(client, "INSTORE", "mobile", m2))
    assert huck["loyaltyInfo"]["loyaltyType"] == "non_loyalty"


async def test_no_events_writes_no_outbox_rows_and_the_default_raises_customer_added(
    client: OrgClient, other_client: OrgClient, harness: Harness, tmp_path: Path
) -> None:
    bodies = [register_body(extra=[{"type": "email", "value": email()}]) for _ in range(3)]
    path = write_jsonl(tmp_path / "customers.jsonl", bodies)

    quiet = await run_import(harness, client, path, events=False)
    loud = await run_import(harness, other_client, path)

    assert quiet.imported == loud.imported == 3
    assert not quiet.events and "--no-events" in quiet.text()
    assert await outbox(harness, client.org_id) == []
    added = await outbox(harness, other_client.org_id)
    assert [p["eventType"] for p in added] == ["customerAdded"] * 3
    ids = await customer_ids(harness, other_client.org_id)
    assert sorted(p["attributes"]["data"]["customerIdentifiers"]["customerId"] for p in added) == ids


async def test_a_stopped_run_resumes_and_a_finished_file_changes_nothing_when_run_again(
    client: OrgClient, harness: Harness, tmp_path: Path
) -> None:
    m = mobile()
    bodies: list[Any] = [register_body(extra=[{"type": "email", "value": email()}]) for _ in range(7)]
    bodies.insert(3, register_body(m))
    bodies.append(register_body(m, source="WECHAT", account_id="WECHAT-2"))  # a merge, on resume
    bodies.append(register_body("12"))  # refused every time
    path = write_jsonl(tmp_path / "customers.jsonl", bodies)
    org = str(client.org_id)

    command = ("import", "customers", str(path), "--org", org)
    partial = await cli(harness, *command, "--limit", "4", "--batch-size", "2")
    assert partial.returncode == 0, partial.stderr
    assert "read 4  imported 4" in partial.stdout
    assert len(await customer_ids(harness, client.org_id)) == 4

    rest = await cli(harness, *command, "--batch-size", "2", "--json")
    assert rest.returncode == 0, rest.stderr
    summary = json.loads(rest.stdout)
    assert {k: summary[k] for k in ("read", "imported", "merged", "skipped", "refused")} == {
        "read": 10,
        "imported": 4,
        "merged": 1,
        "skipped": 4,
        "refused": 1,
    }
    customers = await customer_ids(harness, client.org_id)
    events = await outbox(harness, client.org_id)
    assert len(customers) == 8 and len(events) == 9

    again = await cli(harness, *command, "--json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert (summary["imported"], summary["merged"], summary["skipped"], summary["refused"]) == (0, 0, 9, 1)
    assert await customer_ids(harness, client.org_id) == customers
    assert await outbox(harness, client.org_id) == events
    assert [r["code"] for r in refused(path)] == [1001]


async def test_what_cannot_run_exits_2_with_a_clear_message(
    client: OrgClient, harness: Harness, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("source,mobile,favouriteColour,mobile\nINSTORE,919812345678,red,\n")
    out = await cli(harness, "import", "customers", str(bad), "--org", str(client.org_id))
    assert out.returncode == 2
    assert "favouriteColour" in out.stderr and "appears twice" in out.stderr

    good = write_jsonl(tmp_path / "ok.jsonl", [register_body()])
    out = await cli(harness, "import", "customers", str(good), "--org", "999999999")
    assert out.returncode == 2 and "org 999999999 does not exist" in out.stderr
    out = await cli(
        harness, "import", "customers", str(tmp_path / "missing.jsonl"), "--org", str(client.org_id)
    )
    assert out.returncode == 2 and "cannot read" in out.stderr
    assert await customer_ids(harness, client.org_id) == []


async def test_progress_on_a_pipe_is_plain_lines_with_rate_and_eta(
    client: OrgClient, harness: Harness, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "customers.jsonl", [register_body() for _ in range(3)])
    out = await cli(harness, "import", "customers", str(path), "--org", str(client.org_id))
    assert out.returncode == 0, out.stderr
    progress = [line for line in out.stderr.splitlines() if line.startswith("importing [")]
    assert progress and "\r" not in out.stderr
    assert "100.0%" in progress[-1] and "lines/s" in progress[-1] and "ETA" in progress[-1]


async def test_an_import_gives_the_same_customers_and_events_as_the_api(
    client: OrgClient, other_client: OrgClient, harness: Harness, tmp_path: Path
) -> None:
    m1, m2, e1 = mobile(), mobile(), email()
    lines: list[dict[str, Any]] = [
        register_body(
            m1,
            extra=[{"type": "email", "value": e1}],
            extendedFields={"city": "Pune", "gender": "Female"},
        ),
        register_body(m2, loyalty="non_loyalty", first="Huck", last="Finn"),
        register_body(m1, source="WECHAT", account_id="WECHAT-CM", first="Tommy"),
        register_body(
            extra=[{"type": "cardnumber", "value": f"GOLD{m2}", "seriesId": 19, "statusLabel": "ACTIVE"}],
            first="Becky",
        ),
        register_body(m2, first="Twice"),
    ]
    lines[0]["profiles"][0]["fields"] = {"employee": "true"}
    through_api = []
    for body in lines:
        answer = await client.post("/v2/customers", json=body)
        through_api.append(answer.json())
    path = write_jsonl(tmp_path / "customers.jsonl", lines)

    summary = await run_import(harness, other_client, path)

    assert (summary.imported, summary.merged, summary.refused) == (3, 1, 1)
    assert [r["code"] for r in refused(path)] == [e["code"] for e in through_api[4]["errors"]]
    for source, name, value, account in (
        ("INSTORE", "mobile", m1, None),
        ("INSTORE", "mobile", m2, None),
        ("INSTORE", "cardnumber", f"GOLD{m2}", None),
    ):
        mine = await view(client, await lookup(client, source, name, value, account))
        theirs = await view(other_client, await lookup(other_client, source, name, value, account))
        assert normalise(theirs, other_client.org_id) == normalise(mine, client.org_id)
    by_api = [normalise(p, client.org_id) for p in await outbox(harness, client.org_id)]
    by_import = [normalise(p, other_client.org_id) for p in await outbox(harness, other_client.org_id)]
    assert len(by_import) == 4
    assert sorted(map(json.dumps, by_import)) == sorted(map(json.dumps, by_api))


async def test_lines_sharing_identifiers_across_batches_come_out_as_the_api_would_have_them(
    client: OrgClient, other_client: OrgClient, harness: Harness, tmp_path: Path
) -> None:
    """Batches of two, each line leaning on the batch before it: the import answers each
    line as the API answered it, and a line repeated at a batch's start is skipped."""
    m1, m2, m3, m4, e1, e2 = mobile(), mobile(), mobile(), mobile(), email(), email()
    lines: list[dict[str, Any]] = [
        register_body(m1, extra=[{"type": "email", "value": e1}]),
        register_body(m2),
        # batch 2: the mobile of line 2 in another source (a merge), then a line that
        # shares only the email of that one
        register_body(m2, source="WECHAT", account_id="WECHAT-CM", extra=[{"type": "email", "value": e2}]),
        register_body(m3, extra=[{"type": "email", "value": e2}]),
        # batch 3: a new customer, and the mobile of line 4 in another source
        register_body(m4),
        register_body(m3, source="WECHAT", account_id="WECHAT-CM", first="Tommy"),
        # batch 4: line 5 again, as a re-run would find it
        register_body(m4),
    ]
    through_api = []
    for body in lines[:-1]:
        answer = await client.post("/v2/customers", json=body)
        through_api.append(answer.json())
    path = write_jsonl(tmp_path / "customers.jsonl", lines)

    summary = await run_import(harness, other_client, path, batch_size=2)

    def outcome(answer: dict[str, Any]) -> str:
        if answer.get("errors"):
            return f"refused {answer['errors'][0]['code']}"
        return "merged" if any(w["code"] == 8050 for w in answer.get("warnings", [])) else "imported"

    expected = [outcome(a) for a in through_api]
    assert summary.skipped == 1
    assert summary.merged == expected.count("merged") >= 1
    assert summary.imported == expected.count("imported")
    assert [f"refused {r['code']}" for r in refused(path)] == [o for o in expected if o.startswith("refused")]
    for source, value, account in (
        ("INSTORE", m1, None),
        ("INSTORE", m2, None),
        ("WECHAT", m2, "WECHAT-CM"),
        ("INSTORE", m4, None),
        ("WECHAT", m3, "WECHAT-CM"),
    ):
        mine = await view(client, await lookup(client, source, "mobile", value, account))
        theirs = await view(other_client, await lookup(other_client, source, "mobile", value, account))
        assert normalise(theirs, other_client.org_id) == normalise(mine, client.org_id)
    assert len(await customer_ids(harness, other_client.org_id)) == len(
        await customer_ids(harness, client.org_id)
    )
