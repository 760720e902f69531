"""The password policy: length by account policy, related input, the badlist, zxcvbn strength."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hermit_common.secret import Secret
from idmd import limits
from idmd.errors import NotFound, PasswordRejected
from idmd.idm.policy import badlist
from idmd.idm.policy.password import PasswordContext, check_password, related_tokens, vet_password
from idmd.server import QueryServer
from idmd.server.builtin import UUID_SYSTEM_CONFIG
from idmd.server.identity import INTERNAL
from idmd.server.mods import Add
from tests.idmd.entries import make_group, make_person

# Passes every rule for an account named alice (no second factor: 15 characters or more).
GOOD = "pelican vault harmonica"


def _context(**overrides: object) -> PasswordContext:
    values: dict[str, object] = {"min_length": 15, "related": (), "badlist": frozenset()}
    values.update(overrides)
    return PasswordContext(**values)  # type: ignore[arg-type]


def _rejection(password: str, context: PasswordContext) -> str:
    with pytest.raises(PasswordRejected) as info:
        check_password(password, context)
    assert password.casefold() not in info.value.detail.casefold()
    return info.value.detail


def test_check_password__accepts_a_long_uncommon_passphrase() -> None:
    check_password(GOOD, _context())


def test_check_password__refuses_below_the_minimum_and_says_the_number() -> None:
    detail = _rejection("pelican vault", _context(min_length=15))
    assert "15 characters" in detail
    check_password("pelican vault", _context(min_length=12))


def test_check_password__counts_characters_not_bytes_and_caps_bytes() -> None:
    check_password("ÿ" * 15 + " pelican vault", _context())
    detail = _rejection("ü" * (limits.MAX_PASSWORD_BYTES // 2 + 1), _context())
    assert f"{limits.MAX_PASSWORD_BYTES} bytes" in detail


def test_check_password__refuses_related_input_case_insensitively() -> None:
    context = _context(related=(("the account's name", "alice"),))
    detail = _rejection("Pelican ALICE vault harmonica", context)
    assert "the account's name" in detail


def test_check_password__ignores_related_tokens_shorter_than_the_minimum() -> None:
    context = _context(related=(("the display name", "al"), ("the display name", "li")))
    check_password("pelican vault harmonica al li", context)


def test_check_password__refuses_badlisted_words_also_with_trailing_decoration() -> None:
    context = _context(min_length=8, badlist=frozenset({"trustno1trustno1"}))
    assert "common passwords" in _rejection("TrustNo1TrustNo1", context)
    assert "common passwords" in _rejection("TrustNo1TrustNo1!!2024", context)


def test_check_password__refuses_weak_passwords_with_zxcvbn_feedback() -> None:
    detail = _rejection("aaaaaaaaaaaaaaaaaaaa", _context())
    assert detail.startswith("the password is too easy to guess: ")
    assert "repeat" in detail.casefold()


def test_check_password__survives_passwords_beyond_zxcvbn_limit() -> None:
    check_password(GOOD * 20, _context())


def test_related_tokens__name_spn_displayname_and_mail_local_part(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(
            txn, "alice_ops", displayname=["Alice Liddell"], mail=["a.wonder@example.org"]
        )
    tokens = {token for _field, token in related_tokens(alice)}
    assert {"alice_ops", "alice", "ops", "liddell", "a.wonder", "wonder"} <= tokens
    assert "example" not in tokens


async def test_vet_password__uses_the_account_policy_and_second_factor(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        make_group(txn, "strict", (alice,), policy_password_min_length=["30"])
        bob = make_person(txn, "bob")
    twelve = Secret("heron quartz k")
    with pytest.raises(PasswordRejected, match="15 characters"):
        await vet_password(qs, bob.uuid, twelve)
    assert await vet_password(qs, bob.uuid, twelve, has_second_factor=True) == twelve
    with pytest.raises(PasswordRejected, match="30 characters"):
        await vet_password(qs, alice.uuid, Secret(GOOD), has_second_factor=True)


async def test_vet_password__returns_a_secret(qs: QueryServer) -> None:
    with qs.write() as txn:
        bob = make_person(txn, "bob")
    vetted = await vet_password(qs, bob.uuid, Secret(GOOD))
    assert isinstance(vetted, Secret)
    assert repr(vetted) == "[secure]"


async def test_vet_password__reads_the_badlist_from_system_config(qs: QueryServer) -> None:
    with qs.write() as txn:
        bob = make_person(txn, "bob")
        txn.modify(INTERNAL, UUID_SYSTEM_CONFIG, [Add(badlist.ATTR, "pelican vault harmonica")])
    with pytest.raises(PasswordRejected, match="common passwords"):
        await vet_password(qs, bob.uuid, Secret(GOOD.upper()))


async def test_vet_password__unknown_account_is_not_found(qs: QueryServer) -> None:
    with pytest.raises(NotFound):
        await vet_password(qs, "00000000-0000-0000-0000-00000000ffff", Secret(GOOD))


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_check_password__a_refusal_never_quotes_the_password(password: str) -> None:
    context = _context(
        min_length=12, related=(("the account's name", "alice"),),
        badlist=frozenset({"password", "letmein123"}),
    )
    try:
        check_password(password, context)
    except PasswordRejected as refused:
        if len(password.strip()) >= 12:  # shorter ones may be words of the detail itself
            assert password not in refused.detail
