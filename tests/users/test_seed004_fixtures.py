"""The seed 004 sample copies and the key checker the user namespace's tests rely on: every
block parses, the operation table matches the copies, ENVELOPE_KEYS is the seed's own key
order for every response, and assert_same_keys can fail."""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from tests.users.seed004 import (
    ENVELOPE_KEYS,
    FIXTURES,
    OPERATIONS,
    assert_same_keys,
    key_difference,
    request_of,
    response_of,
    sample,
)


def test_the_table_lists_the_83_operations_and_every_copy() -> None:
    assert len(OPERATIONS) == 83
    spans = [op.response for op in OPERATIONS.values()]
    spans += [op.request for op in OPERATIONS.values() if op.request]
    assert len(spans) == 143  # 83 responses, 60 requests (GETs and Delete User send none)
    named = {f"L{first}-{last}.txt" for first, last in spans}
    assert named == {path.name for path in FIXTURES.glob("L*.txt")}
    assert Counter(op.method for op in OPERATIONS.values()) == {
        "POST": 34,
        "PUT": 17,
        "GET": 22,
        "DELETE": 10,
    }


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_every_block_parses_and_succeeds(name: str) -> None:
    operation = OPERATIONS[name]
    response = response_of(name)
    assert isinstance(response, dict)
    assert response["result"]["code"] == "0000"
    assert list(response) == ENVELOPE_KEYS[operation.family], name
    if operation.request:
        assert isinstance(request_of(name), dict)
    else:
        with pytest.raises(ValueError, match="no request sample"):
            request_of(name)


def test_every_family_is_used() -> None:
    assert {op.family for op in OPERATIONS.values()} == set(ENVELOPE_KEYS)
    assert len(ENVELOPE_KEYS["user"]) == 38
    assert sum(op.family == "user" for op in OPERATIONS.values()) == 56


def test_the_comment_lines_are_dropped_when_parsing_only() -> None:
    for first, last, line in ((13645, 13732, 13654), (14098, 14175, 14107)):
        text = (FIXTURES / f"L{first}-{last}.txt").read_text(encoding="utf-8")
        assert text.splitlines()[line - first].strip() == "// Identification ID to be updated"
        assert "identification" in sample(first, last)


def test_samples_are_fresh_copies() -> None:
    body = request_of("Create User Email")
    body["email"][0]["address"] = "changed@example.com"
    assert request_of("Create User Email")["email"][0]["address"] != "changed@example.com"


def test_a_missing_range_names_the_command() -> None:
    with pytest.raises(AssertionError, match=r"copy_seeds\.py <seeds> 004 2781 2967"):
        sample(2781, 2967)


def test_the_same_keys_pass() -> None:
    response = response_of("Get User")
    assert_same_keys(response, response_of("Get User"))
    assert_same_keys(response, response_of("Get User"), types=True)


def test_a_missing_key_fails() -> None:
    ours = response_of("Create User Email")
    del ours["info"]["program_id"]
    with pytest.raises(AssertionError, match=r"at info: missing keys \['program_id'\]"):
        assert_same_keys(ours, response_of("Create User Email"))


def test_an_extra_key_fails() -> None:
    ours = response_of("Create User Email")
    ours["email"][0]["extra"] = 1
    with pytest.raises(AssertionError, match=r"at email\[0\]: missing keys \[\], extra keys \['extra'\]"):
        assert_same_keys(ours, response_of("Create User Email"))


def test_a_swapped_order_fails_only_when_ordered() -> None:
    sample_ = response_of("Create User Email")
    keys = list(sample_)
    keys[1], keys[2] = keys[2], keys[1]
    ours = {key: sample_[key] for key in keys}
    with pytest.raises(AssertionError, match="key order differs at position 1: 'personal_info'"):
        assert_same_keys(ours, response_of("Create User Email"))
    assert_same_keys(ours, response_of("Create User Email"), ordered=False)


def test_a_nested_difference_in_a_later_item_fails() -> None:
    expected = response_of("Get User")
    ours = copy.deepcopy(expected)
    assert ours["email"], "Get User's sample has emails"
    ours["email"].append(copy.deepcopy(ours["email"][0]))
    del ours["email"][-1]["custom_field"]
    last = len(ours["email"]) - 1
    with pytest.raises(AssertionError, match=rf"at email\[{last}\]: missing keys \['custom_field'\]"):
        assert_same_keys(ours, expected)


def test_types_are_compared_only_when_asked() -> None:
    expected = response_of("Create User Email")
    ours = copy.deepcopy(expected)
    ours["info"]["id"] = str(ours["info"]["id"])
    assert_same_keys(ours, expected)
    with pytest.raises(AssertionError, match=r"info\.id: string where the sample has number"):
        assert_same_keys(ours, expected, types=True)
    ours = copy.deepcopy(expected)
    ours["function_code"] = None
    assert key_difference(ours, expected, types=True) == "function_code: null where the sample has number"
    # null in the sample matches anything
    assert expected["personal_info"] is None
    ours["function_code"] = expected["function_code"]
    ours["personal_info"] = {"first_name": "x"}
    assert_same_keys(ours, expected, types=True)


def test_ignored_keys_are_compared_for_presence_only() -> None:
    expected = response_of("Create User Email")
    ours = copy.deepcopy(expected)
    assert isinstance(ours["email"][0]["custom_field"], dict)
    ours["email"][0]["custom_field"] = {"another": "field"}
    with pytest.raises(AssertionError, match="custom_field"):
        assert_same_keys(ours, expected)
    assert_same_keys(ours, expected, ignore={"custom_field"})
