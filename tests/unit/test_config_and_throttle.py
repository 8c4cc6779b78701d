"""The org configuration document and the login throttle."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from patron.customers.catalog import SOURCES
from patron.orgs.config import OrgConfig
from patron.security.throttle import LoginThrottle

ISSUE_EXAMPLE = {
    "primaryIdentifier": "mobile",
    "defaultPhoneRegion": "IN",
    "sources": {"INSTORE": [], "WECHAT": ["WECHAT-CM", "WECHAT-2"]},
    "extendedFields": [
        {"name": "gender", "type": "string", "values": ["Male", "Female"]},
        {"name": "city", "type": "string"},
    ],
    "customFields": ["employee"],
    "cardSeries": [{"seriesId": 19, "seriesCode": "GOLDPHY98", "statusLabels": ["ACTIVE"]}],
    "statusLabels": ["Active", "Inactive", "Pending Deletion", "Deleted"],
}


def test_the_documented_example_is_accepted_and_round_trips() -> None:
    config = OrgConfig.model_validate(ISSUE_EXAMPLE)
    document = config.to_document()
    for key, value in ISSUE_EXAMPLE.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            # Lists of objects come back with their defaults filled in.
            assert [{k: d[k] for k in given} for d, given in zip(document[key], value, strict=True)] == value
        else:
            assert document[key] == value
    assert OrgConfig.model_validate(document) == config


def test_the_default_enables_every_seed_source() -> None:
    config = OrgConfig()
    assert set(config.sources) == set(SOURCES)
    assert config.is_multi_account("WECHAT") and not config.is_multi_account("INSTORE")


@pytest.mark.parametrize(
    "patch",
    [
        {"sources": {"MARS": []}},
        {"sources": {}},
        {"defaultPhoneRegion": "XX"},
        {"timezone": "Mars/Base"},
        {"primaryIdentifier": "wechat"},
        {"customFields": ["a", "a"]},
        {"unknownKey": 1},
        {"sources": {"WECHAT": ["A", "A"]}},
        {"statusLabels": []},
        {"cardSeries": [{"seriesId": 1, "seriesCode": "X", "numberPattern": "("}]},
    ],
)
def test_invalid_documents_are_refused(patch: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        OrgConfig.model_validate({**ISSUE_EXAMPLE, **patch})


def test_throttle_refuses_after_the_limit_and_forgives_after_the_window() -> None:
    now = [1000.0]
    throttle = LoginThrottle(3, 60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.retry_after("a") == 0
        throttle.failed("a")
    assert throttle.retry_after("a") == 60
    assert throttle.retry_after("b") == 0
    now[0] += 30
    assert throttle.retry_after("a") == 30
    now[0] += 31
    assert throttle.retry_after("a") == 0


def test_success_clears_the_failures() -> None:
    throttle = LoginThrottle(2, 60)
    throttle.failed("a")
    throttle.succeeded("a")
    throttle.failed("a")
    assert throttle.retry_after("a") == 0
