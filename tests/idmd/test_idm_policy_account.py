"""Account policy: read from groups through nesting, strictest of each setting wins."""

from __future__ import annotations

import pytest

from hermit_common.errors import InvalidValue
from idmd import limits
from idmd.idm.policy.account import AccountPolicy, account_policy, strictest, validate_policy_value
from idmd.server import QueryServer
from tests.idmd.entries import make_group, make_person


def test_account_policy__defaults_without_any_policy_group(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        make_group(txn, "plain", (alice,))
    with qs.read() as txn:
        entry = txn.get(alice.uuid)
        assert entry is not None
        assert account_policy(txn, entry) == AccountPolicy()


def test_account_policy__takes_the_strictest_of_nested_groups(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        inner = make_group(
            txn, "inner", (alice,), policy_session_lifetime=["3600"],
            policy_password_min_length=["14"],
        )
        make_group(
            txn, "outer", (inner,), policy_min_credential=["mfa"],
            policy_session_lifetime=["7200"], policy_privilege_lifetime=["120"],
            policy_password_min_length=["20"],
        )
        make_group(txn, "other", policy_min_credential=["passkey"])  # alice is not in it
    with qs.read() as txn:
        entry = txn.get(alice.uuid)
        assert entry is not None
        policy = account_policy(txn, entry)
    assert policy == AccountPolicy(
        min_credential="mfa", session_lifetime=3600, privilege_lifetime=120,
        password_min_length=20,
    )


def test_strictest__orders_credential_types() -> None:
    policies = [AccountPolicy(min_credential="passkey"), AccountPolicy(min_credential="mfa")]
    assert strictest(policies).min_credential == "passkey"
    assert strictest([]) == AccountPolicy()


def test_min_password_length__is_longer_without_a_second_factor() -> None:
    default = AccountPolicy()
    assert default.min_password_length(has_second_factor=True) == (
        limits.DEFAULT_MIN_PASSWORD_CHARS
    )
    assert default.min_password_length(has_second_factor=False) == (
        limits.SINGLE_FACTOR_MIN_PASSWORD_CHARS
    )
    lenient = AccountPolicy(password_min_length=8)
    assert lenient.min_password_length(has_second_factor=True) == 8
    assert lenient.min_password_length(has_second_factor=False) == 15
    strict = AccountPolicy(password_min_length=24)
    assert strict.min_password_length(has_second_factor=False) == 24


@pytest.mark.parametrize(
    ("attr", "raw"),
    [
        ("policy_min_credential", "sms"),
        ("policy_session_lifetime", 10),
        ("policy_session_lifetime", "3600"),
        ("policy_privilege_lifetime", 10**9),
        ("policy_password_min_length", 4),
        ("policy_password_min_length", True),
        ("description", 1),
    ],
)
def test_validate_policy_value__refuses_out_of_range(attr: str, raw: object) -> None:
    with pytest.raises(InvalidValue):
        validate_policy_value(attr, raw)


def test_validate_policy_value__stores_valid_settings() -> None:
    assert validate_policy_value("policy_min_credential", "mfa") == "mfa"
    assert validate_policy_value("policy_session_lifetime", 3600) == "3600"
