"""The org configuration document and the login throttle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from patron.config import Settings
from patron.customers.catalog import SOURCES
from patron.orgs.config import OrgConfig
from patron.security.throttle import ClientAddresses, LoginThrottle, bucket
from tests.support import is_multi_account

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
    assert is_multi_account(config, "WECHAT") and not is_multi_account(config, "INSTORE")


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
        {"cardSeries": [{"seriesId": 2**31, "seriesCode": "X"}]},  # card.series_id is INTEGER
    ],
)
def test_invalid_documents_are_refused(patch: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        OrgConfig.model_validate({**ISSUE_EXAMPLE, **patch})


T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_throttle_refuses_at_the_limit_until_the_window_opened_by_the_first_failure_closes() -> None:
    throttle = LoginThrottle(3, 60)
    assert throttle.retry_after(0, None, T0) == 0
    assert throttle.retry_after(2, T0, T0 + timedelta(seconds=1)) == 0
    assert throttle.retry_after(3, T0, T0) == 60
    assert throttle.retry_after(3, T0, T0 + timedelta(seconds=30)) == 30
    assert throttle.retry_after(3, T0, T0 + timedelta(seconds=59.5)) == 1
    assert throttle.retry_after(3, T0, T0 + timedelta(seconds=60)) == 0
    assert throttle.retry_after(9, T0, T0 + timedelta(seconds=61)) == 0
    # A window that opened at or before `since` has closed (the upsert restarts its count).
    assert throttle.since(T0 + timedelta(seconds=60)) == T0


@pytest.mark.parametrize(
    ("peer", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::9", "2001:db8:1:2::/64"),
        (None, ""),
        ("", ""),
        ("testclient", "testclient"),
        ("x" * 100, "x" * 64),
    ],
)
def test_addresses_are_counted_by_host_and_ipv6_by_its_64(peer: str | None, expected: str) -> None:
    assert bucket(peer) == expected
    assert ClientAddresses().of_scope({"client": None if peer is None else (peer, 1)}) == expected


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    scope = {"client": ("10.0.0.5", 1), "headers": [(b"x-forwarded-for", b"198.51.100.7, 10.0.0.9")]}
    assert ClientAddresses().of_scope(scope) == "10.0.0.5"
    trusted = ClientAddresses(["10.0.0.0/8"])
    # The right-most hop that is not a trusted proxy is the client.
    assert trusted.of_scope(scope) == "198.51.100.7"
    assert trusted.of("10.0.0.5", "1.2.3.4, 198.51.100.7") == "198.51.100.7"
    # A peer outside the proxies names nobody else.
    assert trusted.of("192.0.2.1", "198.51.100.7") == "192.0.2.1"
    # Garbage in the chain: no further hop is believed, the proxy's address counts.
    assert trusted.of("10.0.0.5", "198.51.100.7, junk") == "10.0.0.5"
    assert trusted.of("10.0.0.5", "10.0.0.6") == "10.0.0.5"
    assert trusted.of("10.0.0.5", "2001:db8::1") == "2001:db8::/64"


def test_trusted_proxies_are_off_by_default_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().trusted_proxies == []
    monkeypatch.setenv("PATRON_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
    assert Settings().trusted_proxies == ["10.0.0.0/8", "192.0.2.1"]
    monkeypatch.setenv("PATRON_TRUSTED_PROXIES", "10.0.0.0/8,not-an-address")
    with pytest.raises(ValidationError):
        Settings()
