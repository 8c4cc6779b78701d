"""The rules under the API's input edges (issue 8), without the HTTP layer in front: the
edge refuses a NUL anywhere in a body, so these show the rules refusing it on their own."""

from __future__ import annotations

import pytest

from patron.customers.domain import (
    InvalidIdentifier,
    clean_name,
    normalise_email,
    normalise_identifier,
    normalise_mobile,
)
from patron.orgs.config import OrgConfig

CONFIG = OrgConfig.model_validate({"defaultPhoneRegion": "IN"})


@pytest.mark.parametrize(
    "raw",
    [
        "+91 90 1000 0023x",
        "-919010000022",
        "919010000022\x00",
        "\x00919010000022",
        "9190100\x0000022",
        "919010000022\n",
        "919010000022\x1c",
        "tel:+919010000022",
        "+91 90 1000 0022;ext=5",
        "٩١٩٠١٠٠٠٠٠٢٢",
        "９１９０１０００００２２",
        "+91 (901 0000022",
        "+91 (901)) 0000022",
        "+91 90100 00022)",
        "(",
        "+",
        "+91 -- - 9010000022",
    ],
)
def test_what_is_not_a_phone_number_is_refused_not_repaired(raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalise_mobile(raw, "IN")
    with pytest.raises(InvalidIdentifier):
        normalise_identifier("mobile", raw, CONFIG)


@pytest.mark.parametrize(
    "raw",
    [
        "919010000022",
        "+919010000022",
        " +91 90100 00022 ",
        "+91-90100-00022",
        "+91.901.000.0022",
        "+91 (901) 000-0022",
        "(+91) 9010000022",
        "091 - 9010000022",
        "9010000022",
        "09010000022",
    ],
)
def test_digits_with_the_usual_separators_are_one_number(raw: str) -> None:
    assert normalise_mobile(raw, "IN") == "919010000022"


def test_a_mobile_given_as_a_negative_json_number_is_refused() -> None:
    with pytest.raises(InvalidIdentifier):
        normalise_identifier("mobile", -919010000022, CONFIG)
    assert normalise_identifier("mobile", 919010000022, CONFIG) == "919010000022"


@pytest.mark.parametrize(
    ("id_type", "raw"),
    [
        ("email", "tom@example.com\x00"),
        ("email", "tom@example.com\n"),
        ("externalId", "ext-1\x00"),
        ("externalId", "ext-1\n"),
        ("cardnumber", "CARD1\t"),
        ("wechat", "wx_1\x00"),
        ("wechat", "\x1fwx_1"),
    ],
)
def test_identifiers_keep_their_control_characters_to_be_refused(id_type: str, raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalise_identifier(id_type, raw, CONFIG)


def test_identifiers_are_still_trimmed_of_spaces() -> None:
    assert normalise_identifier("externalId", "  ext-1 ", CONFIG) == "ext-1"
    assert normalise_email(" Tom@Example.com ") == "tom@example.com"


@pytest.mark.parametrize(
    "name",
    [
        "\U0001f469\u200d\U0001f469\u200d\U0001f467",
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        "Zo\u00eb",
        "  Tom ",
    ],
)
def test_names_may_hold_joiners(name: str) -> None:
    assert clean_name(name, "firstName") == name.strip(" ")


@pytest.mark.parametrize(
    "name",
    [
        "Tom\x00",
        "Tom\t",
        "Tom\u0085",
        "Tom\u202e",
        "Tom\u202a",
        "Tom\u2066",
        "Tom\u2069",
        "Tom\u200e",  # left-to-right mark
        "Tom\u200b",
        "Tom\u2060",
        "Tom\ufeff",
        "\u200cTom",
        "Tom\u200d",
        "To\u200c\u200dm",
    ],
)
def test_names_refuse_controls_and_other_format_characters(name: str) -> None:
    with pytest.raises(ValueError):
        clean_name(name, "firstName")
