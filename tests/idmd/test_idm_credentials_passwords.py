"""Passwords: Argon2id PHC strings, verification, generated passwords (as Secrets)."""

import pytest

from hermit_common.errors import InvalidValue
from hermit_common.secret import Secret
from idmd import limits
from idmd.idm.credentials.passwords import (
    GENERATED_ALPHABET,
    Hasher,
    generate_password,
    hash_password_sync,
    validate_password,
    verify_password_sync,
)


def test_hash_password__is_argon2id_phc_with_configured_cost() -> None:
    phc = hash_password_sync("correct horse")
    assert phc.startswith(
        f"$argon2id$v=19$m={limits.ARGON2_MEMORY_KIB},t={limits.ARGON2_ITERATIONS},"
        f"p={limits.ARGON2_LANES}$"
    )
    assert "correct horse" not in phc


def test_hash_password__salts_every_hash() -> None:
    assert hash_password_sync("correct horse") != hash_password_sync("correct horse")


def test_verify_password__accepts_right_refuses_wrong_and_garbage() -> None:
    phc = hash_password_sync("correct horse")
    assert verify_password_sync("correct horse", phc)
    assert not verify_password_sync("correct horsf", phc)
    assert not verify_password_sync("correct horse", "not a phc string")


def test_generate_password__length_alphabet_and_uniqueness() -> None:
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        assert isinstance(password, Secret)
        assert len(password.reveal()) == 20
        assert set(password.reveal()) <= set(GENERATED_ALPHABET)
    assert not set(GENERATED_ALPHABET) & set("0O1lI")


@pytest.mark.parametrize(
    "raw", [None, 12345678, "short", "x" * (limits.MAX_PASSWORD_BYTES + 1), "é" * 257]
)
def test_validate_password__refuses(raw: object) -> None:
    with pytest.raises(InvalidValue) as info:
        validate_password(raw)
    assert "x" * 20 not in info.value.detail


def test_validate_password__accepts_longest() -> None:
    longest = "x" * limits.MAX_PASSWORD_BYTES
    assert validate_password(longest).reveal() == longest


async def test_hasher__hashes_and_verifies_off_loop() -> None:
    hasher = Hasher()
    phc = await hasher.hash(Secret("correct horse"))
    assert await hasher.verify(Secret("correct horse"), phc)
    assert not await hasher.verify(Secret("wrong horse"), phc)
    assert not await hasher.verify(Secret("correct horse"), None)


def test_needs_upgrade__false_for_argon2id_at_todays_cost() -> None:
    from idmd.idm.credentials.passwords import needs_upgrade

    assert not needs_upgrade(hash_password_sync("heron quartz kettle"))


def test_needs_upgrade__true_for_another_cost_or_scheme() -> None:
    from idmd.idm.credentials.passwords import needs_upgrade

    phc = hash_password_sync("heron quartz kettle")
    older = phc.replace(f"t={limits.ARGON2_ITERATIONS},", f"t={limits.ARGON2_ITERATIONS + 1},")
    assert needs_upgrade(older)
    assert needs_upgrade(phc.replace("$argon2id$", "$argon2i$"))
    assert needs_upgrade("$6$salt$hash")
    assert needs_upgrade("")
