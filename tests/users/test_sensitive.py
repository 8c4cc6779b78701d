"""Sensitive data of the user namespace (src/patron/users/sensitive.py): masking, the reveal
policy, validation, sealing, hashing and redaction. Unit tests: no database. `L123` is a
line of seed 004."""

from __future__ import annotations

import base64
import json
import os
from datetime import date

import argon2
import pytest
from pydantic import ValidationError

from patron.orgs.config import OrgConfig
from patron.users import sensitive as s
from patron.users.sensitive import WIPED, Reveal, SealedDataError, SensitiveInputError
from patron.webhooks.secrets import SecretBox
from tests.users.secrets_scan import assert_no_secrets, find_secrets

# ---------------------------------------------------------------------------------------
# Masking: every example of the seed (seed-004-rules.md 4.1)


@pytest.mark.parametrize(
    ("mask", "clear", "masked"),
    [
        (s.mask_id_number, "R691001515133", "R6*********33"),  # L4958 -> L5151
        (s.mask_id_number, "R691001515144", "R6*********44"),  # L5409 -> L5593
        (s.mask_bank_number, "42247074", "42**7074"),  # L5835 -> L18976 (history new_data)
        (s.mask_iban, "GB17BARC20038446275882", "GB17**************5882"),  # L5839 -> L18976
        (s.mask_pan, "5508400024556548", "550840******6548"),  # L17393 -> L19012
    ],
)
def test_masks_as_the_seed_does(mask: object, clear: str, masked: str) -> None:
    assert callable(mask)
    assert mask(clear) == masked
    assert len(mask(clear)) == len(clear)
    assert mask(masked) == masked  # masking twice changes nothing


def test_short_values_are_masked_whole() -> None:
    # Fewer than two hidden characters would show (nearly) everything: mask it all.
    assert s.mask_pan("12345678901") == "*" * 11  # 6 + 4 leaves one
    assert s.mask_pan("123456789012") == "123456**9012"
    assert s.mask_bank_number("12345") == "*****"
    assert s.mask_bank_number("123456") == "******"
    assert s.mask_bank_number("1234567") == "*" * 7  # 2 + 4 leaves one
    assert s.mask_id_number("ABCDE") == "*****"
    assert s.mask_id_number("ABCDEF") == "AB**EF"
    assert s.mask_iban("") == ""
    assert WIPED == "____"


# ---------------------------------------------------------------------------------------
# The reveal policy


@pytest.mark.parametrize(
    ("header", "till", "granted", "clear"),
    [
        (None, "T1", ["T1"], False),  # absent = 0
        ("", "T1", ["T1"], False),
        ("0", "T1", ["T1"], False),
        ("1", "T1", ["T1"], True),  # asked for, and the till is granted
        ("1", "T2", ["T1"], False),  # asked for by a till not granted
        ("1", "T1", [], False),  # no till granted (the default)
        ("1", None, ["T1"], False),
        (" 1 ", "T1", ["T1"], True),
        ("0", "T2", ["T1"], False),
    ],
)
def test_reveal_truth_table(header: str | None, till: str | None, granted: list[str], clear: bool) -> None:
    reveal = Reveal.decide(header, till, granted)
    assert reveal.clear is clear
    assert reveal.pan("5508400024556548") == ("5508400024556548" if clear else "550840******6548")
    assert reveal.bank_number("42247074") == ("42247074" if clear else "42**7074")
    assert reveal.iban("GB17BARC20038446275882") == (
        "GB17BARC20038446275882" if clear else "GB17**************5882"
    )
    assert reveal.id_number("R691001515133") == ("R691001515133" if clear else "R6*********33")
    assert reveal.pan(None) is None
    # Wiped is never revealed, whoever asks.
    assert reveal.wiped(True) == WIPED
    assert reveal.wiped(False) is None


@pytest.mark.parametrize("header", ["2", "yes", "true", "01", "-1"])
def test_reveal_refuses_other_header_values(header: str) -> None:
    with pytest.raises(SensitiveInputError) as err:
        Reveal.decide(header, "T1", ["T1"])
    assert err.value.field == "show_sensitive_data"


def test_masked_is_the_default_for_logs_and_events() -> None:
    assert s.MASKED.clear is False


def test_sensitive_data_tills_config() -> None:
    assert OrgConfig().sensitive_data_tills == []
    config = OrgConfig.model_validate({"sensitiveDataTills": ["T1", "store-7"]})
    assert config.sensitive_data_tills == ["T1", "store-7"]
    assert config.to_document()["sensitiveDataTills"] == ["T1", "store-7"]
    for bad in (["T1", "T1"], [""], [" T1"], ["x" * 101]):
        with pytest.raises(ValidationError, match="sensitiveDataTills"):
            OrgConfig.model_validate({"sensitiveDataTills": bad})
    with pytest.raises(ValidationError):
        OrgConfig.model_validate({"sensitiveDataTills": [1]})


# ---------------------------------------------------------------------------------------
# Cards


def _refused(expected_field: str, fn: object, *args: object, **kwargs: object) -> str:
    assert callable(fn)
    with pytest.raises(SensitiveInputError) as err:
        fn(*args, **kwargs)
    assert err.value.field == expected_field
    assert str(err.value).startswith(f"{expected_field}: ")
    return err.value.message


@pytest.mark.parametrize(
    ("pan", "brand"),
    [
        ("4606607755411750", "visa"),  # L4502: the seed's Create Credit Card sample
        ("5508400024556548", "mastercard"),  # L17393
        ("5299990044524768", "mastercard"),  # L4710 (sent as an identification number)
        ("4111 1111 1111 1111", "visa"),
        ("4222222222222", "visa"),  # 13 digits
        ("2223000048400011", "mastercard"),  # 2-series
        ("378282246310005", "amex"),
        ("6011111111111117", "discover"),
        ("6221260000000000", "discover"),  # the UnionPay co-branded Discover range
        ("3530111333300000", "jcb"),
        ("6200000000000005", "unionpay"),
        ("30569309025904", "other"),  # Diners Club: accepted, brand not tracked
        ("6759649826438453", "other"),  # Maestro
    ],
)
def test_pan_accepted(pan: str, brand: str) -> None:
    card = s.check_pan(pan)
    compact = pan.replace(" ", "")
    assert card == (compact, brand, compact[:6], compact[-4:])
    assert card.masked == s.mask_pan(compact)


def test_pan_as_a_json_number() -> None:
    assert s.check_pan(4606607755411750).number == "4606607755411750"


@pytest.mark.parametrize(
    ("pan", "why"),
    [
        ("5389820000000000", "check digit"),  # the table's sample (L1348): fails Luhn
        ("3333330000000000000", "check digit"),  # X45's second sample (L2423)
        ("4606607755411751", "check digit"),
        ("41111111111", "12 to 19"),  # 11 digits
        ("41111111111111111111", "12 to 19"),  # 20 digits
        ("4111-1111-1111-111a", "digits only"),
        ("", "digits only"),
        ("37828224631003", "length"),  # Luhn-valid, but Amex numbers have 15 digits
        ("4111111111111111111", "check digit"),
    ],
)
def test_pan_refused(pan: str, why: str) -> None:
    assert why in _refused("credit_card.number", s.check_pan, pan)


def test_pan_length_per_network() -> None:
    # A Luhn-valid 17-digit Visa and a 15-digit Mastercard are not cards their networks issue.
    assert "length" in _refused("credit_card.number", s.check_pan, "41111111111111113")
    assert "length" in _refused("credit_card.number", s.check_pan, "555555555555558")


def test_errors_never_repeat_the_value() -> None:
    message = _refused("credit_card.number", s.check_pan, "4606607755411751")
    assert "4606607755411751" not in message
    message = _refused("x", s.check_iban, "GB17BARC20038446275883", field="x")
    assert "GB17" not in message


@pytest.mark.parametrize("bad", [None, 4.5, True, ["4111111111111111"]])
def test_pan_must_be_text(bad: object) -> None:
    _refused("credit_card.number", s.check_pan, bad)


def test_cvv_shape() -> None:
    s.check_cvv(123, "visa")  # L4516: sent as a number
    s.check_cvv("876", "mastercard")  # L17427
    s.check_cvv("1234", "amex")
    s.check_cvv("012", "other")
    for value, brand in (("1234", "visa"), ("123", "amex"), ("12", "visa"), ("12a", "visa"), (12, "visa")):
        assert "digits" in _refused("credit_card.security_code", s.check_cvv, value, brand)


def test_card_expiry() -> None:
    today = date(2026, 12, 2)
    assert s.check_card_expiry("12", "2027", today=today) == ("12", "2027")  # L4508/L4506
    assert s.check_card_expiry(12, 2027, today=today) == ("12", "2027")
    assert s.check_card_expiry("1", "2027", today=today) == ("01", "2027")
    assert s.check_card_expiry("12", "2026", today=today) == ("12", "2026")  # this month: good
    assert s.check_card_expiry("01", "2046", today=today) == ("01", "2046")
    assert "expired" in _refused("credit_card.expiry_month", s.check_card_expiry, "11", "2026", today=today)
    assert "expired" in _refused("credit_card.expiry_month", s.check_card_expiry, "12", "2025", today=today)
    for month in ("0", "13", "001", "ab", ""):
        _refused("credit_card.expiry_month", s.check_card_expiry, month, "2027", today=today)
    for year in ("27", "20270", "abcd", "2047"):
        _refused("credit_card.expiry_year", s.check_card_expiry, "12", year, today=today)
    # Today by default: a year ago is past, next year is not.
    now = date.today()
    assert s.check_card_expiry(now.month, now.year + 1) == (f"{now.month:02d}", str(now.year + 1))
    _refused("credit_card.expiry_month", s.check_card_expiry, now.month, now.year - 1)


# ---------------------------------------------------------------------------------------
# Bank accounts


def test_iban() -> None:
    assert s.check_iban("GB17BARC20038446275882") == "GB17BARC20038446275882"  # L5839
    assert s.check_iban("gb17 barc 2003 8446 2758 82") == "GB17BARC20038446275882"
    assert s.check_iban("DE89 3704 0044 0532 0130 00") == "DE89370400440532013000"
    # The table's sample (L1227) has a wrong check digit (the real example is GB29NWBK...).
    _refused("bank_account.iban", s.check_iban, "GB29RBOS60161331926819")
    _refused("bank_account.iban", s.check_iban, "GB29NWBK6016133192681")  # one digit short
    _refused("bank_account.iban", s.check_iban, "XX17BARC20038446275882")
    _refused("bank_account.iban", s.check_iban, "")


def test_bic() -> None:
    assert s.check_bic("AAFMGB21") == "AAFMGB21"  # L5837
    assert s.check_bic("CITIUS00") == "CITIUS00"  # the table's sample (L1222)
    assert s.check_bic("deutdeff500") == "DEUTDEFF500"
    for bad in ("AAFMXX21", "AAFMGB2", "AAFMGB2100", "1AFMGB21", ""):
        _refused("bank_account.swift_code", s.check_bic, bad)


def test_routing_number() -> None:
    assert s.check_routing_number("011000015") == "011000015"
    assert s.check_routing_number(11000015) == "011000015"  # a JSON number lost its zero
    assert s.check_routing_number("123456780") == "123456780"
    # The seed's sample 123456789 (L5845, L5947) fails the ABA check digit; so does the
    # table's 900000000 (L1242).
    _refused("bank_account.routing_number", s.check_routing_number, 123456789)
    _refused("bank_account.routing_number", s.check_routing_number, "123456789")
    _refused("bank_account.routing_number", s.check_routing_number, "900000000")
    _refused("bank_account.routing_number", s.check_routing_number, "01100001")
    _refused("bank_account.routing_number", s.check_routing_number, "0110000150")


def test_bank_number() -> None:
    assert s.check_bank_number(42247074) == "42247074"  # L5835: refused by the seed's X29
    assert s.check_bank_number("0532000000") == "0532000000"  # X29's sample (L1217)
    assert s.check_bank_number("12-3456 78") == "12345678"
    assert s.check_bank_number("ab12cd34") == "AB12CD34"
    assert s.check_bank_number("1" * 34) == "1" * 34
    for bad in ("123", "1" * 35, "1234/5678", "12.345", ""):
        assert "4 to 34" in _refused("bank_account.number", s.check_bank_number, bad)


# ---------------------------------------------------------------------------------------
# Countries, currencies, languages


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("840", "840"),  # L2817: "840" in, "840" out (L3041)
        (840, "840"),  # L5827: a number in, "840" out (L5931)
        (858, "858"),  # L4950
        ("400", "400"),  # L21211
        ("752", "752"),  # L21377
        ("124", "124"),  # L25429
        ("826", "826"),  # L5101
        ("US", "840"),
        ("usa", "840"),
        ("36", "036"),  # Australia, leading zero restored
        ("jo", "400"),
    ],
)
def test_country_accepted(value: object, code: str) -> None:
    assert s.check_country(value) == code


@pytest.mark.parametrize("value", ["900", "999", "0", "XX", "XXX", "U", "8400", "", 84.0, None])
def test_country_refused(value: object) -> None:
    # 900 is the table's sample for X16 (L437): no country has it.
    _refused("country_code", s.check_country, value)


def test_currency() -> None:
    assert s.check_currency("USD") == ("USD", "840")  # L2901
    assert s.check_currency("EUR") == ("EUR", "978")  # L6141; "number": "978" L6143
    assert s.check_currency("usd").code == "USD"
    assert s.check_currency("978").code == "EUR"
    assert s.check_currency(978).code == "EUR"
    for bad in ("ABC", "US", "USDD", "001", "", 4.0):
        _refused("currency.code", s.check_currency, bad)


def test_language() -> None:
    assert s.check_language("en") == "en"  # L2879
    assert s.check_language("EN") == "en"  # X27's samples (L1060): EN, en, en-ca
    assert s.check_language("en-ca") == "en-CA"
    assert s.check_language("pt_BR") == "pt-BR"
    for bad in ("e", "eng", "xx", "en-xx", "en-can", "en-", ""):
        _refused("preferred_language_code", s.check_language, bad)


# ---------------------------------------------------------------------------------------
# Secrets people choose


def test_password_policy() -> None:
    assert s.check_password("Pass1234!") == "Pass1234!"  # L2863
    assert s.check_password("pass1234!") == "pass1234!"  # L9985
    assert s.check_password("Pass+1234") == "Pass+1234"  # X19 refuses "+"; we do not
    assert s.check_password("a--b<c>d|e") == "a--b<c>d|e"
    assert s.check_password("pässwörd") == "pässwörd"
    assert s.check_password("x" * 128)
    assert "8 to 128" in _refused("security.password", s.check_password, "hello1")  # X19's sample
    assert "8 to 128" in _refused("security.password", s.check_password, "x" * 129)
    assert "control" in _refused("security.password", s.check_password, "Pass\t1234")
    _refused("security.password", s.check_password, 12345678)
    _refused("reset_password.new_password", s.check_password, "short", "reset_password.new_password")


def test_security_code_policy() -> None:
    for ok in ("123456", "1234", "123", "876", "0", 123):  # L2865, L11951, L9753, L17427
        assert s.check_security_code(ok) == str(ok)
    for bad in ("1234567", "", "12a", "-1", "١٢٣"):
        assert "1 to 6" in _refused("security.security_code", s.check_security_code, bad)


def test_secret_answer_policy() -> None:
    for ok in ("Alix", "Soma", "Wilson", " alexes ", "fʁɑ̃s123"):  # L9865, L9869, L11955
        assert s.check_secret_answer(ok) == ok
    for bad in ("", "   ", "x" * 102, "a\x00b"):
        _refused("security.secret_answer_1", s.check_secret_answer, bad)


def test_normalisation() -> None:
    assert s.normalise_secret("  New   York ", "secret_answer") == "new york"
    assert s.normalise_secret("STRASSE", "secret_answer") == s.normalise_secret("straße", "secret_answer")
    assert s.normalise_secret("Pass1234!", "password") == "Pass1234!"
    assert s.normalise_secret("ﬁsh1234", "password") == "fish1234"  # NFKC
    assert s.normalise_secret(" 123", "security_code") == " 123"


async def test_hash_parameters_are_owasps() -> None:
    digest = await s.hash_secret("Pass1234!", kind="password")
    assert digest.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    params = argon2.extract_parameters(digest)
    assert (params.type, params.memory_cost, params.time_cost, params.parallelism) == (
        argon2.Type.ID,
        19456,
        2,
        1,
    )
    assert "Pass1234!" not in digest
    assert await s.hash_secret("Pass1234!", kind="password") != digest  # salted
    assert not s.needs_rehash(digest)


async def test_passwords_are_case_sensitive() -> None:
    digest = await s.hash_secret("Pass1234!", kind="password")
    assert await s.verify_secret(digest, "Pass1234!", kind="password")
    # L10561 validates "pass1234!" against "Pass1234!": we keep passwords case-sensitive.
    assert not await s.verify_secret(digest, "pass1234!", kind="password")
    assert not await s.verify_secret(digest, " Pass1234!", kind="password")
    assert not await s.verify_secret(digest, "", kind="password")


async def test_answers_are_case_insensitive() -> None:
    # L9865 sets "Alix"; L10873 validates "alix" and succeeds.
    digest = await s.hash_secret("Alix", kind="secret_answer")
    for same in ("alix", "ALIX", "  Alix ", "Alix"):
        assert await s.verify_secret(digest, same, kind="secret_answer")
    assert not await s.verify_secret(digest, "Alex", kind="secret_answer")
    assert not await s.verify_secret(digest, "Alix", kind="password")  # kinds do not mix


async def test_security_codes() -> None:
    digest = await s.hash_secret("123", kind="security_code")  # L9753, then L10457
    assert await s.verify_secret(digest, "123", kind="security_code")
    assert not await s.verify_secret(digest, "1234", kind="security_code")


async def test_hash_refuses_a_bad_secret() -> None:
    with pytest.raises(SensitiveInputError) as err:
        await s.hash_secret("hello1", kind="password")
    assert err.value.field == "security.password"
    with pytest.raises(SensitiveInputError) as err:
        await s.hash_secret("12a", kind="security_code", field="reset_security_code.new_security_code")
    assert err.value.field == "reset_security_code.new_security_code"


async def test_verify_and_rehash_tolerate_bad_hashes() -> None:
    assert not await s.verify_secret("not a hash", "Pass1234!", kind="password")
    assert not await s.verify_secret("", "Pass1234!", kind="password")
    assert s.needs_rehash("not a hash")
    weaker = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("Pass1234!")
    assert s.needs_rehash(weaker)
    assert await s.verify_secret(weaker, "Pass1234!", kind="password")  # still verifies


# ---------------------------------------------------------------------------------------
# Sealing at rest


def test_seal_round_trip_and_binding() -> None:
    box = SecretBox(os.urandom(32))
    token = s.seal(box, 7, "credit_card", 18430, "4606607755411750")
    assert "4606607755411750" not in token
    assert s.unseal(box, 7, "credit_card", 18430, token) == "4606607755411750"
    assert s.seal(box, 7, "credit_card", 18430, "4606607755411750") != token  # fresh nonce
    for org, kind, record in (
        (8, "credit_card", 18430),
        (7, "bank_account", 18430),
        (7, "credit_card", 18431),
    ):
        with pytest.raises(SealedDataError):
            s.unseal(box, org, kind, record, token)
    with pytest.raises(SealedDataError):
        s.unseal(SecretBox(os.urandom(32)), 7, "credit_card", 18430, token)  # another key
    with pytest.raises(SealedDataError):
        s.unseal(box, 7, "credit_card", 18430, token[:-4] + "AAA=")  # tampered
    with pytest.raises(SealedDataError):
        s.unseal(box, 7, "credit_card", 18430, "v9:abc")
    with pytest.raises(SealedDataError):
        s.unseal(box, 7, "credit_card", 18430, "v1:***")


def test_seal_fields() -> None:
    box = SecretBox(os.urandom(32))
    values = {"number": "42247074", "iban": "GB17BARC20038446275882"}
    token = s.seal_fields(box, 7, "bank_account", 32048, values)
    assert find_secrets(token, values.values()) == []
    assert s.unseal_fields(box, 7, "bank_account", 32048, token) == values
    with pytest.raises(SealedDataError):
        s.unseal_fields(box, 7, "bank_account", 32049, token)
    with pytest.raises(SealedDataError):
        s.unseal_fields(box, 7, "bank_account", 1, s.seal(box, 7, "bank_account", 1, "[1]"))


# ---------------------------------------------------------------------------------------
# Redaction


def test_redact_a_user_payload() -> None:
    payload = {
        "security": {
            "password": "Pass1234!",
            "security_code": "123456",
            "secret_question_1": "7",
            "secret_answer_1": "Wilson",
            "secret_answer_2": None,
            "signup_code": "X1",
        },
        "credit_card": [{"number": 4606607755411750, "security_code": 123, "expiry_year": "2027"}],
        "bank_account": [{"number": 42247074, "iban": "GB17BARC20038446275882", "swift_code": "AAFMGB21"}],
        "identification": [{"number": "R691001515133", "country_of_issue": "858"}],
        "phone": [{"number": "+13067898833"}],
        "currency": [{"code": "EUR", "number": "978"}],
        "documents": [{"attachment": [{"file_name": "front", "content": "ejJlQUVFSFpC"}]}],
        "reset_security_data": {
            "reset_password": {"current_password": "Pass1234!", "new_password": "pass1234!"},
            "reset_security_questions": {"secret_question_1": "7", "secret_answer_1": "Alix"},
            "forget_password": {"account_number": "5389820000000000", "verified_email": "a@b.co"},
        },
        "validate_data": {"password": "pass1234!", "security_code": "123", "birth_date": "1990-01-02"},
        "confirm_data": {"verification_code": "132614"},
        "authentication": [{"type": 11, "code": "942035"}],
        "account": [
            {"info": {"number": "5508400024556548", "security": {"pin_code": "1", "expiry_date": "x"}}}
        ],
        "history": [
            {
                "entity": 16,
                "new_data": json.dumps([{"number": "42247074", "iban": "GB17BARC20038446275882"}]),
            },
            {"entity": 10, "new_data": json.dumps({"info": {"number": "5508400024556548"}}), "old_data": ""},
            {"entity": 7, "new_data": "{not json"},
        ],
    }
    original = json.dumps(payload)
    out = s.redact(payload)
    assert json.dumps(payload) == original  # the input is left alone
    assert out["security"] == {
        "password": WIPED,
        "security_code": WIPED,
        "secret_question_1": "7",
        "secret_answer_1": WIPED,
        "secret_answer_2": None,
        "signup_code": WIPED,
    }
    assert out["credit_card"] == [
        {"number": "460660******1750", "security_code": WIPED, "expiry_year": "2027"}
    ]
    assert out["bank_account"] == [
        {"number": "42**7074", "iban": "GB17**************5882", "swift_code": "AAFMGB21"}
    ]
    assert out["identification"] == [{"number": "R6*********33", "country_of_issue": "858"}]
    assert out["phone"] == payload["phone"]
    assert out["currency"] == payload["currency"]
    assert out["documents"][0]["attachment"][0] == {"file_name": "front", "content": WIPED}
    reset = out["reset_security_data"]
    assert reset["reset_password"] == {"current_password": WIPED, "new_password": WIPED}
    assert reset["reset_security_questions"] == {"secret_question_1": WIPED, "secret_answer_1": WIPED}
    assert reset["forget_password"] == {"account_number": "538982******0000", "verified_email": "a@b.co"}
    assert out["validate_data"] == {"password": WIPED, "security_code": WIPED, "birth_date": "1990-01-02"}
    assert out["confirm_data"] == {"verification_code": WIPED}
    assert out["authentication"] == [{"type": 11, "code": WIPED}]
    assert out["account"][0]["info"] == {
        "number": "550840******6548",
        "security": {"pin_code": WIPED, "expiry_date": WIPED},
    }
    history = out["history"]
    assert json.loads(history[0]["new_data"]) == [{"number": "42**7074", "iban": "GB17**************5882"}]
    assert json.loads(history[1]["new_data"]) == {"info": {"number": "550840******6548"}}
    assert history[1]["old_data"] == ""
    assert history[2]["new_data"] == WIPED
    assert_no_secrets(
        json.dumps(out),
        [
            "Pass1234!",
            "123456",
            "Wilson",
            "4606607755411750",
            "42247074",
            "GB17BARC20038446275882",
            "R691001515133",
            "5508400024556548",
            "ejJlQUVFSFpC",
            "132614",
            "942035",
            "Alix",
        ],
    )


def test_redact_leaves_other_values() -> None:
    assert s.redact([1, "a", None, {"iban": None}]) == [1, "a", None, {"iban": None}]
    assert s.redact({"credit_card": [{"number": {"nested": 1}}]}) == {"credit_card": [{"number": WIPED}]}


# ---------------------------------------------------------------------------------------
# The scan utility itself must be able to fail


def test_secrets_scan_finds_every_form() -> None:
    secret = "Pass1234!"
    assert find_secrets("x PASS1234! y", [secret]) == [secret]
    assert find_secrets(json.dumps({"p": 'Pa"ss'}), ['Pa"ss']) == ['Pa"ss']
    assert find_secrets(json.dumps({"p": "pässwörd"}), ["pässwörd"]) == ["pässwörd"]
    for prefix in (b"", b"a", b"ab"):
        encoded = base64.b64encode(prefix + secret.encode() + b"tail").decode()
        assert find_secrets(encoded, [secret]) == [secret]
    assert find_secrets("Pass1234%21", [secret]) == [secret]
    assert find_secrets("nothing here", [secret, "4606607755411750"]) == []
    with pytest.raises(AssertionError, match="1 secret"):
        assert_no_secrets("card 4606607755411750", ["4606607755411750", "Pass1234!"])
    with pytest.raises(ValueError, match="too short"):
        find_secrets("x", ["123"])
