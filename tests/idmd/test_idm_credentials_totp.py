"""TOTP records, the acceptance window, replay, enrolment and backup codes."""

from __future__ import annotations

import base64
from dataclasses import replace

import pyotp
import pytest

from idmd.idm.credentials import totp
from idmd.idm.credentials.totp import TotpRecord

NOW = 1_800_000_000.0  # a step boundary: 1_800_000_000 / 30 is whole


def test_new_record__has_a_160_bit_base32_secret() -> None:
    record = totp.new_record("phone")
    assert len(base64.b32decode(record.secret)) == 20
    assert len(record.secret) == 32
    assert totp.new_record("phone").secret != record.secret


def test_record__encodes_and_decodes() -> None:
    record = totp.new_record("phone", "sha256")
    assert TotpRecord.decode(record.encode()) == record
    assert TotpRecord.decode("not json") is None
    assert TotpRecord.decode('{"id": "x"}') is None


def test_record__repr_hides_the_secret() -> None:
    record = totp.new_record("phone")
    assert record.secret not in repr(record)


def test_check__accepts_the_current_and_previous_step_only() -> None:
    record = totp.new_record("phone")
    counter = record.counter_at(NOW)
    assert totp.check(record, record.code_at(counter).reveal(), NOW) is not None
    assert totp.check(record, record.code_at(counter - 1).reveal(), NOW) is not None
    assert totp.check(record, record.code_at(counter - 2).reveal(), NOW) is None
    assert totp.check(record, record.code_at(counter + 1).reveal(), NOW) is None


def test_check__matches_what_an_authenticator_app_shows() -> None:
    record = totp.new_record("phone")
    app = pyotp.TOTP(record.secret)
    assert totp.check(record, app.at(NOW), NOW) is not None


def test_check__never_accepts_a_code_twice() -> None:
    record = totp.new_record("phone")
    code = record.code_at(record.counter_at(NOW)).reveal()
    used = totp.check(record, code, NOW)
    assert used is not None and used.last_counter == record.counter_at(NOW)
    assert totp.check(used, code, NOW) is None
    # Nor the previous step's code once a later one was used.
    assert totp.check(used, record.code_at(record.counter_at(NOW) - 1).reveal(), NOW) is None
    # The next step's code is fine at the next step.
    later = NOW + 30
    assert totp.check(used, record.code_at(record.counter_at(later)).reveal(), later) is not None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", " 123456"])
def test_check__refuses_malformed_codes(code: str) -> None:
    assert totp.check(totp.new_record("phone"), code, NOW) is None


def test_check_any__finds_the_totp_that_matches() -> None:
    first, second = totp.new_record("a"), totp.new_record("b")
    code = second.code_at(second.counter_at(NOW)).reveal()
    found = totp.check_any([first.encode(), second.encode()], code, NOW)
    assert found is not None
    value, updated = found
    assert value == second.encode() and updated.label == "b"


def test_next_step__is_the_soonest_step_boundary_of_the_records() -> None:
    thirty = totp.new_record("phone").encode()
    twenty = replace(totp.new_record("token"), step=20).encode()
    assert totp.next_step([thirty], NOW + 7) == NOW + 30
    assert totp.next_step([thirty, twenty], NOW + 7) == NOW + 20
    # No readable record: the default step's boundary.
    assert totp.next_step(["junk"], NOW) == NOW + 30


def test_confirm__keeps_the_asked_algorithm_when_the_app_honours_it() -> None:
    record = totp.new_record("phone", "sha256")
    code = pyotp.TOTP(record.secret, digest="sha256").at(NOW)
    confirmed = totp.confirm(record, code, NOW)
    assert confirmed is not None and confirmed.algorithm == "sha256"


def test_confirm__falls_back_to_sha1_for_apps_that_ignore_the_algorithm() -> None:
    record = totp.new_record("phone", "sha512")
    code = pyotp.TOTP(record.secret).at(NOW)  # the app used SHA-1 anyway
    confirmed = totp.confirm(record, code, NOW)
    assert confirmed is not None and confirmed.algorithm == "sha1"
    assert totp.confirm(record, "000000" if code != "000000" else "111111", NOW) is None


def test_provisioning_uri__names_the_account_and_issuer() -> None:
    record = totp.new_record("phone", "sha256")
    secret_uri = totp.provisioning_uri(record, "alice@example.com", "hermit")
    uri = secret_uri.reveal()
    assert uri.startswith("otpauth://totp/")
    assert "issuer=hermit" in uri and "algorithm=SHA256" in uri
    assert repr(secret_uri) == "[secure]"


def test_backup_codes__are_distinct_and_single_format() -> None:
    codes = [code.reveal() for code in totp.generate_backup_codes()]
    assert len(set(codes)) == len(codes) == 10
    assert all(len(c) == 14 and c.count("-") == 2 for c in codes)


def test_match_backup_code__finds_the_stored_hash_typed_either_way() -> None:
    codes = [code.reveal() for code in totp.generate_backup_codes(3)]
    stored = [totp.hash_backup_code(c) for c in codes]
    assert totp.match_backup_code(stored, codes[1]) == stored[1]
    assert totp.match_backup_code(stored, codes[1].replace("-", "").upper()) == stored[1]
    assert totp.match_backup_code(stored, "aaaa-aaaa-aaaa") is None
    assert totp.match_backup_code(stored, "short") is None
    assert totp.match_backup_code(["garbage", "sha256$!!$!!"], codes[0]) is None
