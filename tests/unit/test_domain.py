"""Pure rules: identifier normalisation and field validation (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron.customers.domain import (
    InvalidIdentifier,
    diff_mapping,
    normalise_email,
    normalise_identifier,
    normalise_mobile,
    validate_extended_fields,
)
from patron.orgs.config import OrgConfig

CONFIG = OrgConfig.model_validate(
    {
        "defaultPhoneRegion": "IN",
        "extendedFields": [
            {"name": "gender", "type": "string", "values": ["Male", "Female"]},
            {"name": "age", "type": "integer"},
            {"name": "vip", "type": "boolean"},
            {"name": "dob", "type": "date"},
            {"name": "score", "type": "number"},
        ],
    }
)

indian_mobiles = st.integers(min_value=0, max_value=99_999_999).map(lambda n: f"98{n:08d}")


@given(indian_mobiles)
def test_every_spelling_of_a_mobile_normalises_to_one_e164_form(national: str) -> None:
    expected = "91" + national
    spellings = [
        national,
        "91" + national,
        "+91" + national,
        f"+91 {national[:5]} {national[5:]}",
        f"0{national}",
        f"+91-{national[:3]}-{national[3:]}",
    ]
    assert {normalise_mobile(s, "IN") for s in spellings} == {expected}


@given(indian_mobiles)
def test_normalising_a_mobile_is_idempotent(national: str) -> None:
    once = normalise_mobile(national, "IN")
    assert normalise_mobile(once, "IN") == once


def test_region_decides_numbers_without_country_code() -> None:
    assert normalise_mobile("2025550143", "US") == "12025550143"


@pytest.mark.parametrize("raw", ["", "123", "abc", "+1 555", "9" * 40])
def test_non_numbers_are_invalid_mobiles(raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalise_mobile(raw, "IN")


def test_emails_are_checked_for_syntax_only_and_case_folded() -> None:
    assert normalise_email(" Tom.Sawyer@Example.COM ") == "tom.sawyer@example.com"
    assert (
        normalise_email("someone@no-such-domain-patron-1842.shop")
        == "someone@no-such-domain-patron-1842.shop"
    )
    for bad in ("no-at-sign", "a@", "@b.com", "a b@c.com"):
        with pytest.raises(InvalidIdentifier):
            normalise_email(bad)


def test_identifier_values_of_other_types_are_trimmed_and_bounded() -> None:
    assert normalise_identifier("wechat", "  wx_1 ", CONFIG) == "wx_1"
    assert normalise_identifier("mobile", 919812345678, CONFIG) == "919812345678"
    for id_type, bad in (
        ("wechat", "x" * 300),
        ("externalId", "a b"),
        ("cardnumber", "no/slash"),
        ("cuid", True),
    ):
        with pytest.raises(InvalidIdentifier):
            normalise_identifier(id_type, bad, CONFIG)


def test_extended_fields_are_coerced_to_their_types() -> None:
    accepted, warnings = validate_extended_fields(
        {"gender": "female", "age": "42", "vip": "true", "dob": "2000-10-22", "score": "4.5"}, CONFIG
    )
    assert accepted == {"gender": "Female", "age": 42, "vip": True, "dob": "2000-10-22", "score": 4.5}
    assert warnings == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gender", "Robot"),
        ("age", "old"),
        ("age", True),
        ("vip", "maybe"),
        ("dob", "22-10-2000"),
        ("unknown", "x"),
    ],
)
def test_invalid_extended_fields_are_dropped_with_91015(field: str, value: object) -> None:
    accepted, warnings = validate_extended_fields({field: value}, CONFIG)
    assert accepted == {}
    assert [w.code for w in warnings] == [91015]
    assert field in warnings[0].message


def test_diff_reports_each_changed_key_once() -> None:
    changes = diff_mapping({"a": 1, "b": "x"}, {"a": 2, "b": "x", "c": True}, "ExtendedField", "INSTORE", "")
    assert [(c.field_name, c.previous_value, c.current_value) for c in changes] == [
        ("a", "1", "2"),
        ("c", None, "true"),
    ]
