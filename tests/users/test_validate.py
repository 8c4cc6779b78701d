"""The six Validate operations (POST /user/security/validate/{user_id}, users/validation.py)
through HTTP on both engines: the seed's shapes, a match and a mismatch of each type, one
credential per call, the value never echoed, rehashing, the throttle, and wrong-password and
unknown-user answers alike in content and in time."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from typing import Any

import argon2
import pytest

from patron.users import sensitive, validation
from tests.conftest import CONFIG, Harness, OrgClient, make_org
from tests.support import email, execute, mobile, rows
from tests.users.secrets_scan import assert_no_secrets
from tests.users.seed004 import ENVELOPE_KEYS, assert_same_keys, request_of, response_of

# The user profile's source (userSource, WEBSITE by default) enabled.
USER_CONFIG = {**CONFIG, "sources": {**CONFIG["sources"], "WEBSITE": []}}
# The seed's user 88752 (004:L10359-10881): its email, phone, password, code, answers, birth date.
SEED_EMAIL = "Stephen.Wilso@yahoo.com"
SEED_PHONE = "+19037558475"
SEED_PASSWORD = "pass1234!"
SEED_CODE = "123"
SEED_DOB = "1993-08-03"
NAMES = {
    "email": "Validate User Email",
    "phone": "Validate User Phone",
    "password": "Validate User Password",
    "security_code": "Validate User Security Code",
    "birth_date": "Validate User Date Of Birth",
    "answers": "Validate User Security Answers",
}
MISMATCH = {
    "code": "3014",
    "message": "The credential does not match.",
    "friendly_message": "The credential does not match.",
}


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


@pytest.fixture
async def other_client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


async def new_user(
    client: OrgClient,
    *,
    address: str | None = None,
    phone: str | None = None,
    password: str | None = SEED_PASSWORD,
    code: str = SEED_CODE,
    answers: tuple[str, str] = ("Alix", "Soma"),
    dob: str | None = SEED_DOB,
) -> int:
    """A user with the seed's credentials, set as the seed's flows set them: security with
    PUT /user/security/{id}, the date of birth with PUT /user/personal_info/{id}."""
    body = {
        "personal_info": {"first_name": "Stephen", "last_name": "Wilson"},
        "email": [{"address": address or email(), "is_primary": 1}],
        "phone": [{"type": 1, "number": phone or mobile(), "is_primary": 1}],
    }
    r = await client.post("/user", json=body)
    assert r.status_code == 200, r.text
    uid = int(r.json()["info"]["id"])
    if password is not None:
        security = {
            "password": password,
            "security_code": code,
            "secret_question_1": "7",
            "secret_answer_1": answers[0],
            "secret_question_2": "8",
            "secret_answer_2": answers[1],
        }
        r = await client.put(f"/user/security/{uid}", json={"security": security})
        assert r.status_code == 200, r.text
    if dob is not None:
        r = await client.put(f"/user/personal_info/{uid}", json={"personal_info": {"date_of_birth": dob}})
        assert r.status_code == 200, r.text
    return uid


async def validate(client: OrgClient, uid: int | str, body: dict[str, Any], **headers: str) -> Any:
    return await client.post(f"/user/security/validate/{uid}", json=body, headers=headers)


def body_of(type_: int, **values: Any) -> dict[str, Any]:
    return {"validate_data": values, "info": {"type": str(type_)}}


def assert_mismatch(r: Any) -> None:
    assert r.status_code == 422, r.text
    assert r.json()["result"] == MISMATCH


async def test_each_seed_sample_validates_with_the_seed_keys_and_echoes_nothing(client: OrgClient) -> None:
    uid = await new_user(client, address=SEED_EMAIL, phone=SEED_PHONE)
    for name in NAMES.values():
        request = request_of(name)
        r = await validate(client, uid, request, source_id="a83f3a14-db35-464d-ad05-19820cadb44f")
        assert r.status_code == 200, (name, r.text)
        answer = r.json()
        expected = response_of(name)
        assert list(answer) == ENVELOPE_KEYS["security_validate"]
        assert_same_keys(answer, expected)
        assert answer["result"]["code"] == "0000"
        assert answer["validate_data"] == dict.fromkeys(expected["validate_data"])
        info = answer["info"]
        assert info["id"] == 0 and info["program_id"] == client.org_id and info["user_id"] == uid
        assert info["type"] == expected["info"]["type"] == int(request["info"]["type"])
        assert info["source_id"] == "a83f3a14-db35-464d-ad05-19820cadb44f"
        for value in request["validate_data"].values():
            assert json.dumps(value) not in r.text  # never echoed (the seed echoes it)
    assert_no_secrets(r.text, [SEED_PASSWORD, "Alix", "Soma"])


@pytest.mark.parametrize(
    ("kind", "right", "wrong"),
    [
        ("email", {"email": "STEPHEN.wilso@YAHOO.com"}, {"email": "stephen.wilson@yahoo.com"}),
        ("phone", {"phone": "+1 (903) 755-8475"}, {"phone": "+19037558476"}),
        ("password", {"password": SEED_PASSWORD}, {"password": "pass1234?"}),
        ("security_code", {"security_code": 123}, {"security_code": "124"}),
        ("birth_date", {"birth_date": "1993/08/03"}, {"birth_date": "1993-08-04"}),
        (
            "answers",
            {"secret_answer_1": "ALIX", "secret_answer_2": "  soma "},
            {"secret_answer_1": "alix", "secret_answer_2": "sona"},
        ),
    ],
)
async def test_each_type_matches_its_value_and_refuses_another(
    client: OrgClient, kind: str, right: dict[str, Any], wrong: dict[str, Any]
) -> None:
    uid = await new_user(client, address=SEED_EMAIL, phone=SEED_PHONE)
    type_ = int(request_of(NAMES[kind])["info"]["type"])
    r = await validate(client, uid, body_of(type_, **right))
    assert r.status_code == 200 and r.json()["result"]["code"] == "0000", r.text
    assert_mismatch(await validate(client, uid, body_of(type_, **wrong)))


async def test_passwords_are_case_sensitive_and_answers_are_not(client: OrgClient) -> None:
    uid = await new_user(client, answers=("Alix", "Soma"))
    assert_mismatch(await validate(client, uid, body_of(10, password="Pass1234!")))
    assert (await validate(client, uid, body_of(10, password="pass1234!"))).status_code == 200
    answers = body_of(13, secret_answer_1="aLiX", secret_answer_2="SOMA")
    assert (await validate(client, uid, answers)).status_code == 200
    # both must match: one right answer is not enough
    assert_mismatch(await validate(client, uid, body_of(13, secret_answer_1="alix", secret_answer_2="x")))
    assert_mismatch(await validate(client, uid, body_of(13, secret_answer_1="x", secret_answer_2="soma")))


async def test_one_credential_per_call_else_the_field_is_named(client: OrgClient) -> None:
    uid = await new_user(client)
    cases = [
        (body_of(10, password=SEED_PASSWORD, email=SEED_EMAIL), "3001", "validate_data.email"),
        (body_of(8, email=SEED_EMAIL, birth_date=SEED_DOB), "3001", "validate_data.birth_date"),
        (body_of(10, email=SEED_EMAIL), "3002", "validate_data.password"),
        (body_of(13, secret_answer_1="alix"), "3002", "validate_data.secret_answer_2"),
        (body_of(10, password=""), "3002", "validate_data.password"),
        ({"validate_data": {"password": SEED_PASSWORD}}, "3002", "info.type"),
        (body_of(7, password=SEED_PASSWORD), "3001", "info.type"),
        ({"info": {"type": "10"}}, "3002", "validate_data"),
        (body_of(8, email="not an email"), "3001", "validate_data.email"),
        (body_of(12, birth_date="1993-02-30"), "3001", "validate_data.birth_date"),
        (body_of(10, password=SEED_PASSWORD, token="x"), "3001", "token"),
    ]
    for body, code, named in cases:
        r = await validate(client, uid, body)
        assert r.status_code == 400, (body, r.text)
        result = r.json()["result"]
        assert result["code"] == code and named in result["message"], (body, result)
        assert SEED_PASSWORD not in r.text
    # null and "" for the other keys are "not given"
    ok = body_of(10, password=SEED_PASSWORD, email=None, phone="", birth_date=None)
    assert (await validate(client, uid, ok)).status_code == 200


async def test_unknown_users_and_users_without_the_credential_get_the_mismatch_answer(
    client: OrgClient, other_client: OrgClient
) -> None:
    uid = await new_user(client)
    theirs = await new_user(other_client)
    bare = await new_user(client, password=None, dob=None)
    wrong = await validate(client, uid, body_of(10, password="wrong password!"))
    assert_mismatch(wrong)
    for target in (theirs, 10**12 + client.org_id, bare):
        for body in (
            body_of(10, password=SEED_PASSWORD),
            body_of(11, security_code=SEED_CODE),
            body_of(13, secret_answer_1="alix", secret_answer_2="soma"),
            body_of(12, birth_date=SEED_DOB),
            body_of(8, email=SEED_EMAIL),
        ):
            r = await validate(client, target, body)
            assert_mismatch(r)
            assert {k: v for k, v in r.json().items() if k != "response_time"} == {
                k: v for k, v in wrong.json().items() if k != "response_time"
            }
    # another org's user is the other org's: it validates there
    assert (await validate(other_client, theirs, body_of(10, password=SEED_PASSWORD))).status_code == 200


async def test_an_address_or_number_is_the_users_only_when_it_is_one_of_theirs(client: OrgClient) -> None:
    mine = email()
    uid = await new_user(client, address=mine, phone=SEED_PHONE)
    other = await new_user(client)
    assert (await validate(client, uid, body_of(8, email=mine.upper()))).status_code == 200
    assert (await validate(client, uid, body_of(9, phone=SEED_PHONE))).status_code == 200
    assert_mismatch(await validate(client, other, body_of(8, email=mine)))
    assert_mismatch(await validate(client, other, body_of(9, phone=SEED_PHONE)))
    # a second address added later is the user's too
    added = email()
    r = await client.post(f"/user/email/{uid}", json={"email": [{"address": added, "is_primary": 0}]})
    assert r.status_code == 200, r.text
    assert (await validate(client, uid, body_of(8, email=added))).status_code == 200


async def test_no_secret_is_ever_echoed_or_logged(
    client: OrgClient, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = ["Correct Horse 9!", "904172", "Tatooine", "Aldebaran"]
    uid = await new_user(client, password=secrets[0], code=secrets[1], answers=(secrets[2], secrets[3]))
    texts = []
    with caplog.at_level("DEBUG"):
        for body in (
            body_of(10, password=secrets[0]),
            body_of(10, password=secrets[0] + "x"),
            body_of(11, security_code=secrets[1]),
            body_of(13, secret_answer_1=secrets[2], secret_answer_2=secrets[3]),
            body_of(13, secret_answer_1=secrets[2], secret_answer_2=secrets[3] + "x"),
            body_of(10, password=secrets[0], security_code=secrets[1]),
        ):
            texts.append((await validate(client, uid, body)).text)
    assert_no_secrets("\n".join(texts), secrets)
    assert_no_secrets(caplog.text, secrets)


async def test_a_hash_of_older_parameters_is_replaced_on_a_successful_check(client: OrgClient) -> None:
    uid = await new_user(client)
    db = client.harness.app.state.db
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, hash_len=32, salt_len=16)
    old_password = weak.hash(SEED_PASSWORD)
    old_answer = weak.hash("soma")
    (row,) = await rows(
        db,
        "SELECT record_id, data FROM user_record"
        " WHERE org_id = :o AND customer_id = :u AND kind = 'security'",
        o=client.org_id,
        u=uid,
    )
    data = dict(json.loads(row.data) if isinstance(row.data, str) else row.data)
    kept = data["secret_answer_1"]
    data.update(password=old_password, secret_answer_2=old_answer)
    await execute(
        db,
        "UPDATE user_record SET data = :data WHERE org_id = :o AND record_id = :r",
        data=data,
        o=client.org_id,
        r=row.record_id,
    )
    assert sensitive.needs_rehash(old_password)
    # a failed check changes nothing
    assert_mismatch(await validate(client, uid, body_of(10, password="Pass1234!")))
    assert (await security_data(client, uid))["password"] == old_password
    assert (await validate(client, uid, body_of(10, password=SEED_PASSWORD))).status_code == 200
    assert (
        await validate(client, uid, body_of(13, secret_answer_1="alix", secret_answer_2="SOMA"))
    ).status_code == 200
    after = await security_data(client, uid)
    for key in ("password", "secret_answer_2"):
        assert after[key] != data[key] and not sensitive.needs_rehash(after[key])
        assert after[key].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert after["secret_answer_1"] == kept  # current: left alone
    assert after["security_code"] == data["security_code"]
    assert (await validate(client, uid, body_of(10, password=SEED_PASSWORD))).status_code == 200
    assert_mismatch(await validate(client, uid, body_of(10, password="Pass1234!")))


async def security_data(client: OrgClient, uid: int) -> dict[str, Any]:
    (row,) = await rows(
        client.harness.app.state.db,
        "SELECT data FROM user_record WHERE org_id = :o AND customer_id = :u AND kind = 'security'",
        o=client.org_id,
        u=uid,
    )
    return dict(json.loads(row.data) if isinstance(row.data, str) else row.data)


def test_the_dummy_hash_has_patrons_parameters_and_matches_nothing() -> None:
    assert not sensitive.needs_rehash(validation.DUMMY_HASH)
    hasher = argon2.PasswordHasher()
    with pytest.raises(argon2.exceptions.VerifyMismatchError):
        hasher.verify(validation.DUMMY_HASH, "")


async def test_ten_wrong_passwords_lock_the_account_until_retry_after_passes(client: OrgClient) -> None:
    uid = await new_user(client)
    for _ in range(10):
        assert_mismatch(await validate(client, uid, body_of(10, password="guess-guess")))
    locked = await validate(client, uid, body_of(10, password=SEED_PASSWORD))  # even the right one
    assert locked.status_code == 429, locked.text
    assert locked.json()["result"]["code"] == "3012"
    wait = int(locked.headers["Retry-After"])
    assert 1 <= wait <= 2
    unknown = 10**12 + client.org_id  # an unknown account locks the same way
    for _ in range(10):
        assert_mismatch(await validate(client, unknown, body_of(10, password="guess-guess")))
    assert (await validate(client, unknown, body_of(10, password="guess-guess"))).status_code == 429
    await asyncio.sleep(wait + 0.05)
    r = await validate(client, uid, body_of(10, password=SEED_PASSWORD))
    assert r.status_code == 200, r.text
    # the success forgot the run: one more failure does not lock again
    assert_mismatch(await validate(client, uid, body_of(10, password="guess-guess")))
    assert (await validate(client, uid, body_of(10, password=SEED_PASSWORD))).status_code == 200


async def test_wrong_password_and_unknown_user_take_the_same_time(client: OrgClient) -> None:
    """15 answers of each kind, alternated (ABBA): the medians of their times differ by less
    than 5 ms. The work (the process's CPU time: one argon2id verify, one read, the throttle's
    write) always; the wall time too when the machine has a CPU to spare: with more runnable
    processes than CPUs (parallel test runs) a request waits for a CPU tens of milliseconds at
    random, whatever it checks, and a median of 15 moves by more than 5 ms run to run."""
    # Fresh accounts per batch of 5 keep each account under its 10-failure lock; a success on
    # a spare user every 10 failures keeps the client address under its 30.
    users = [await new_user(client) for _ in range(3)]
    spare = await new_user(client)
    unknown = [10**12 + client.org_id * 10 + n for n in range(3)]
    wrong, right = body_of(10, password="not-the-password"), body_of(10, password=SEED_PASSWORD)
    wall: dict[str, list[float]] = {"known": [], "unknown": []}
    cpu: dict[str, list[float]] = {"known": [], "unknown": []}

    async def timed(kind: str, uid: int) -> None:
        started, worked = time.perf_counter(), time.process_time()
        r = await validate(client, uid, wrong)
        wall[kind].append(time.perf_counter() - started)
        cpu[kind].append(time.process_time() - worked)
        assert_mismatch(r)

    assert (await validate(client, spare, right)).status_code == 200  # warm every path once
    assert_mismatch(await validate(client, spare, wrong))
    for n in range(15):
        batch = n // 5
        pair = [("known", users[batch]), ("unknown", unknown[batch])]
        for kind, uid in pair if n % 2 == 0 else pair[::-1]:
            await timed(kind, uid)
        if n % 5 == 4:
            assert (await validate(client, spare, right)).status_code == 200  # resets the address's run

    def medians(times: dict[str, list[float]]) -> str:
        return ", ".join(f"{k} {statistics.median(v) * 1000:.2f} ms" for k, v in times.items())

    def difference(times: dict[str, list[float]], of: Any = statistics.median) -> float:
        return float(abs(of(times["known"]) - of(times["unknown"])))

    def first_quartile(values: list[float]) -> float:
        return statistics.quantiles(values, n=4)[0]

    figures = f"wall: {medians(wall)}; cpu: {medians(cpu)}; load {os.getloadavg()[0]:.1f}"
    # Noise only ever adds time, so the lower quartile of the CPU times shows the work itself;
    # with a CPU to spare, the medians of the wall times must agree too. (The single fastest
    # answers are no measure: one lucky answer moves them by more than the bound.)
    assert difference(cpu, first_quartile) < 0.005, figures
    if os.getloadavg()[0] < (os.cpu_count() or 1):
        assert difference(wall) < 0.005, figures
