"""The field rules of seed 004 (src/patron/users/fields.py): the tables load, the seed's own
request samples pass them (the ones that break a sound rule are listed with the reason), and
refusals name the field path."""

from __future__ import annotations

import re
from typing import Any

import pytest

from patron.users import fields
from patron.users.fields import (
    RULES,
    FieldError,
    coerce,
    validate_object,
    validate_parts,
)
from tests.users.seed004 import OPERATIONS, request_of

LETTERS = {"R", "O", "C", "OP", "NA"}
TYPES = {"String", "Integer", "Date", "DateTime", "Decimal", "Boolean", "Object"}

# The table each request body's top-level objects follow, by response family.
ROOTS = {
    "document": "document_data",
    "security_reset": "reset_user_security",
    "security_validate": "validate_user_security",
}
# Requests with no table to check (seed-004-rules.md 3.3, 3.4): the confirm and verify
# flows (issue 12) send verify_data / confirm_data and an `info` whose type ("10") is not
# the user info's one digit; no table describes them.
NO_TABLE = {
    "Confirm User Email Code": "verify_data / confirm_data have no table (security flows, part 2)",
    "Confirm User SMS Code": "verify_data / confirm_data have no table (security flows, part 2)",
    "Verify User Email Link": "verify_data has no table (security flows, part 2)",
    "Verify User Email Code": "verify_data has no table (security flows, part 2)",
    "Verify User Phone Code": "verify_data has no table (security flows, part 2)",
}
# Samples that break a sound rule: operation -> (failing path, why).
BREAKS = {
    "Create Proof Of Address (POA) Document": (
        "attachment[0].content",
        'the placeholder "Base64" is not base64 (X44, L4281)',
    ),
    "Add Identification With Document (Selfie)": (
        "documents[0].attachment[0].content",
        'the placeholder "Base64" is not base64 (X44)',
    ),
    "Add Identification With Document": (
        "documents[0].attachment[0].content",
        'the placeholder "Base64" is not base64 (X44)',
    ),
    "Update Identification With Document (Selfie)": (
        "documents[0].attachment[0].content",
        'the placeholder "Base64" is not base64 (X44)',
    ),
    "Update Identification With Document": (
        "documents[0].attachment[0].content",
        'the placeholder "Base64" is not base64 (X44)',
    ),
}


def test_every_object_loads() -> None:
    assert len(RULES) == 52
    assert sum(len(rules) for rules in RULES.values()) == 458 + len(fields.EXTRA_FIELDS)
    for table, rules in RULES.items():
        for name, rule in rules.items():
            assert (rule.object, rule.name) == (table, name)
            assert rule.type in TYPES, rule
            assert {rule.post, rule.put, rule.get, rule.delete} <= LETTERS, rule
            assert rule.security in {"None", "Wiped", "Masked", "Encrypted"}, rule
            assert rule.child is None or rule.child in RULES, rule
            if rule.regex_id is not None and rule.regex_id not in ("X17", "X18", "X39"):
                assert rule.pattern is not None, rule
    for name in ("user_data", "info", "personal_info", "address", "addresses", "email", "phone"):
        assert name in RULES
    for name in ("security", "preferences", "identification", "bank_account", "credit_card"):
        assert name in RULES
    for name in ("currency", "terms_conditions", "geo_coordinates", "relationship", "attachment"):
        assert name in RULES
    for name in ("external_authentication", "document_info", "user_inquiry", "document_inquiry"):
        assert name in RULES


def test_the_types_and_letters_are_the_seeds() -> None:
    rule = RULES["email"]["is_primary"]
    assert (rule.type, rule.regex_id, rule.post, rule.put, rule.get, rule.delete) == (
        "Integer",
        "X01",
        "R",
        "O",
        "NA",
        "NA",
    )
    assert RULES["credit_card"]["number"].security == "Masked"
    assert RULES["security"]["password"].security == "Wiped"
    assert RULES["personal_info"]["date_of_birth"].type == "Date"
    assert RULES["bank_account"]["date_utc"].type == "DateTime"  # typed Date with X12 (L1262)
    assert RULES["document_info"]["date_utc"].type == "DateTime"  # typed Date with X02 (L2266)
    assert RULES["email"]["address"].normaliser == "email"
    assert RULES["phone"]["number"].normaliser == "mobile"
    assert RULES["user_data"]["external_auth"].child == "external_authentication"
    assert RULES["document_data"]["info"].child == "document_info"


def root_of(name: str) -> str:
    return ROOTS.get(OPERATIONS[name].family, "user_data")


REQUESTS = [name for name, op in OPERATIONS.items() if op.request and name not in NO_TABLE]


@pytest.mark.parametrize("name", REQUESTS)
def test_the_seeds_request_samples_pass(name: str) -> None:
    op = OPERATIONS[name]
    body = request_of(name)
    method: Any = op.method
    if name in BREAKS:
        path, _why = BREAKS[name]
        with pytest.raises(FieldError) as failure:
            validate_parts(root_of(name), body, method=method)
        assert failure.value.path == path
        return
    cleaned = validate_parts(root_of(name), body, method=method)
    assert set(cleaned) | {u for u in cleaned.unknown if "." not in u} == set(body)
    assert not [u for u in cleaned.unknown if "." in u], "the samples' own nested keys are all known"


def test_no_table_requests_are_the_listed_ones() -> None:
    untabled = {
        name
        for name, op in OPERATIONS.items()
        if op.request and set(request_of(name)) & {"verify_data", "confirm_data"}
    }
    assert untabled == set(NO_TABLE)


def test_create_user_keeps_and_drops() -> None:
    body = request_of("Create User")
    cleaned = validate_parts("user_data", body, method="POST")
    # Integer fields as numbers, String fields as strings (seed-004-rules.md 2.8)
    assert cleaned["email"][0]["is_primary"] == 1
    assert cleaned["identification"][0]["number"] == "47090225"
    assert cleaned["identification"][0]["country_of_issue"] == "840"
    # verification_status is OP on POST: dropped, listed
    assert "personal_info.verification_status" in cleaned.dropped
    assert "verification_status" not in cleaned["personal_info"]
    # the sample-only fields of 3.3 are accepted
    assert "notation" in cleaned
    assert "photo" in cleaned["personal_info"]


def test_update_currency_needs_no_code_on_put_but_creation_does() -> None:
    cleaned = validate_parts("user_data", request_of("Update Currency"), method="PUT")
    assert cleaned["currency"][0]["is_primary"] in (0, 1)
    with pytest.raises(FieldError) as failure:
        validate_parts("user_data", {"currency": [{"is_primary": 1}]}, method="POST")
    assert failure.value.path == "currency[0].code"
    assert failure.value.code == 3002


def test_a_missing_required_field_names_its_path() -> None:
    with pytest.raises(FieldError) as failure:
        validate_parts(
            "user_data", {"email": [{"address": "a@example.com", "is_primary": 1}, {}]}, method="POST"
        )
    assert failure.value.path == "email[1].address"
    assert failure.value.code == 3002
    assert "email[1].address" in failure.value.message
    with pytest.raises(FieldError, match=r"email\[0\]\.id: is required"):
        validate_parts("user_data", {"email": [{"address": "a@example.com"}]}, method="PUT")


def test_a_bad_value_names_its_path() -> None:
    body = {"email": [{"address": "a@example.com", "is_primary": "2"}]}
    with pytest.raises(FieldError) as failure:
        validate_parts("user_data", body, method="POST")
    assert failure.value.path == "email[0].is_primary"
    assert failure.value.code == 3001
    with pytest.raises(FieldError, match=r"email\[0\]\.is_primary: must be an integer"):
        validate_parts("user_data", {"email": [{"address": "a@x.io", "is_primary": "yes"}]}, method="POST")


@pytest.mark.parametrize(
    "value", ["1992-02-31", "1992-01-1231", "1992-1-12", "12/01/1992", "1800-01-01", 19920112]
)
def test_a_bad_date_is_refused(value: Any) -> None:
    personal = {"first_name": "Ann", "last_name": "Lee", "date_of_birth": value}
    with pytest.raises(FieldError) as failure:
        validate_object("personal_info", personal, method="POST")
    assert failure.value.path == "personal_info.date_of_birth"


def test_a_good_date_passes() -> None:
    personal = {"first_name": "Ann", "last_name": "Lee", "date_of_birth": "1992-02-29"}
    assert validate_object("personal_info", personal, method="POST")["date_of_birth"] == "1992-02-29"


def test_date_times_are_whole_and_real() -> None:
    rule = RULES["email"]["server_date"]
    assert coerce(rule, "2012-11-03T13:00:59") == "2012-11-03T13:00:59"
    for bad in ("2012-11-03T13:00:5959", "2012-11-31T13:00:59", "2012-11-03", "2012-11-03T24:00:00"):
        with pytest.raises(FieldError):
            coerce(rule, bad)


def test_integer_leniency() -> None:
    rule = RULES["email"]["is_primary"]
    assert coerce(rule, "1") == 1
    assert coerce(rule, 1) == 1
    assert coerce(rule, 0) == 0
    assert coerce(rule, None) is None
    for bad in (True, "1.5", 1.5, "", [1], {"a": 1}):
        with pytest.raises(FieldError, match=r"^email\.is_primary: "):
            coerce(rule, bad)


def test_string_leniency() -> None:
    rule = RULES["identification"]["number"]
    assert coerce(rule, 47090225) == "47090225"
    assert coerce(rule, "R691001515033") == "R691001515033"
    with pytest.raises(FieldError, match="must be a string"):
        coerce(rule, False)


def test_names_accept_unicode_letters_and_refuse_double_dashes() -> None:
    rule = RULES["personal_info"]["first_name"]  # X09: \p{L}\p{N} as [^\W_]
    assert coerce(rule, "fʁɑ̃s123") == "fʁɑ̃s123"
    assert coerce(rule, "Zoë") == "Zoë"
    for bad in ("_ann", "an--n", "a/b", "x" * 51, ""):
        with pytest.raises(FieldError, match="first_name"):
            coerce(rule, bad)


def test_source_ids_are_anchored() -> None:
    rule = RULES["address"]["original_source_id"]  # X06 had no $
    assert coerce(rule, "9d6b1b4a-8a7e-4f7e-9a55-0b0f1e0c8f21") == "9d6b1b4a-8a7e-4f7e-9a55-0b0f1e0c8f21"
    with pytest.raises(FieldError):
        coerce(rule, "abc def")


def test_time_zones_are_single() -> None:
    rule = RULES["info"]["source_time_zone"]
    assert coerce(rule, "UTC +02:00") == "UTC +02:00"
    for bad in ("UTC |02:00", "UTC +02:00UTC +03:00", "UTC +24:00"):
        with pytest.raises(FieldError):
            coerce(rule, bad)


def test_latitude_and_longitude_ranges() -> None:
    geo = {"latitude": "45.5", "longitude": -180}
    cleaned = validate_object("geo_coordinates", geo, method="POST")
    assert cleaned["longitude"] == "-180"
    for lat in ("91", "-90.5", "179"):
        with pytest.raises(FieldError) as failure:
            validate_object("geo_coordinates", {"latitude": lat, "longitude": "0"}, method="POST")
        assert failure.value.path == "geo_coordinates.latitude"
    with pytest.raises(FieldError, match=r"geo_coordinates\.longitude"):
        validate_object("geo_coordinates", {"latitude": "0", "longitude": "180.5"}, method="POST")


def test_bank_and_card_numbers() -> None:
    bank = RULES["bank_account"]
    assert coerce(bank["number"], 42247074) == "42247074"  # the seed's own sample (L5835)
    assert coerce(bank["iban"], "GB29NWBK60161331926819") == "GB29NWBK60161331926819"
    with pytest.raises(FieldError, match="checksum") as failure:
        coerce(bank["iban"], "GB29NWBK60161331926818")
    assert "GB29" not in failure.value.message  # bank values are never echoed in errors
    assert coerce(bank["bank_address"], "1 Main Street") == "1 Main Street"
    card = RULES["credit_card"]["number"]
    assert coerce(card, "5555555555554444") == "5555555555554444"
    assert coerce(card, "4111111111111111111"[:16]) == "4111111111111111"
    with pytest.raises(FieldError, match="Luhn") as failure:
        coerce(card, "5555555555554445")
    assert "5555" not in failure.value.message


def test_country_and_currency_codes() -> None:
    assert coerce(RULES["address"]["country_code"], 840) == "840"
    with pytest.raises(FieldError, match="ISO 3166"):
        coerce(RULES["address"]["country_code"], "999")
    assert coerce(RULES["currency"]["code"], "EUR") == "EUR"
    with pytest.raises(FieldError, match="ISO 4217"):
        coerce(RULES["currency"]["code"], "XYZ")


def test_emails_and_phones_are_left_to_the_normalisers() -> None:
    assert coerce(RULES["email"]["address"], " Stephen.Wilso@yahoo.com ") == "Stephen.Wilso@yahoo.com"
    assert coerce(RULES["phone"]["number"], 15180000000) == "15180000000"
    with pytest.raises(FieldError, match=r"email\.address"):
        coerce(RULES["email"]["address"], "x" * 255)
    with pytest.raises(FieldError, match=r"phone\.number"):
        coerce(RULES["phone"]["number"], "")


def test_op_na_and_unknown_keys() -> None:
    body = {
        "address": "a@example.com",
        "is_primary": "1",
        "verification_status": 1,  # OP on POST: server-owned
        "id": 5,  # NA on POST
        "colour": "blue",  # no table has it
    }
    cleaned = validate_object("email", body, method="POST")
    assert dict(cleaned) == {"address": "a@example.com", "is_primary": 1}
    assert cleaned.dropped == ["email.verification_status"]
    assert cleaned.ignored == ["email.id"]
    assert cleaned.unknown == ["email.colour"]


def test_op_fields_are_dropped_unchecked() -> None:
    body = {"address": "a@example.com", "is_primary": 1, "verification_status": "not a digit"}
    assert "verification_status" not in validate_object("email", body, method="POST")


def test_the_selfie_flag_is_accepted() -> None:
    attachment = {
        "file_name": "Selfie",
        "file_extension": ".JPEG",
        "content": "aGVsbG8=",
        "is_selfie": True,
    }
    cleaned = validate_object("attachment", attachment, method="POST")
    assert cleaned["is_selfie"] is True
    with pytest.raises(FieldError, match=r"attachment\.file_extension"):
        validate_object("attachment", {**attachment, "file_extension": "photo.JPRG"}, method="POST")


def test_an_object_where_an_array_or_object_belongs_is_refused() -> None:
    with pytest.raises(FieldError, match="email: must be an object or an array"):
        validate_parts("user_data", {"email": "a@example.com"}, method="POST")
    with pytest.raises(FieldError, match=r"email\[0\]: must be an object"):
        validate_parts("user_data", {"email": ["a@example.com"]}, method="POST")


def test_every_replacement_is_documented() -> None:
    doc = fields.__doc__ or ""
    for xid in fields.REPLACED:
        assert re.search(rf"\b{xid}\b", doc), xid


def test_case_insensitive_schedule_expressions() -> None:
    schedule = RULES["schedule"]
    assert coerce(schedule["days_of_week"], "sun,MONDAY,wed") == "sun,MONDAY,wed"
    assert coerce(schedule["on_months"], "mar,April,june") == "mar,April,june"
    assert coerce(schedule["days_of_month"], "ALL") == "ALL"
    with pytest.raises(FieldError, match=r"schedule\.days_of_week"):
        coerce(schedule["days_of_week"], "funday")


def test_inquiry_dates() -> None:
    rule = RULES["user_inquiry"]["from_date"]
    assert coerce(rule, "2021/01/01") == "2021/01/01"
    assert coerce(rule, "2021-01-01") == "2021-01-01"
    for bad in ("2021|01|01", "2021-02-30", "2021-01/01"):
        with pytest.raises(FieldError, match=r"user_inquiry\.from_date"):
            coerce(rule, bad)
