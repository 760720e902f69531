"""Names and gidnumbers: every refusal of DESIGN.md's data model, one case each."""

import pytest

from idmd.errors import InvalidName, ReservedGid
from idmd.names import validate_gidnumber, validate_name


@pytest.mark.parametrize(
    "raw",
    [
        "al:ice", "al/ice", "..", "a..b", "ali\nce", "a" * 65, "", "1234", "9abc",
        "0b1e9c2e-7a4b-4c7e-9f57-3d2f1c1a8e11", "0b1e9c2e7a4b4c7e9f573d2f1c1a8e11",
        "root", "nobody", "systemd-foo", "al ice", "é",
    ],
)
def test_validate_name__refuses(raw: str) -> None:
    with pytest.raises(InvalidName):
        validate_name(raw)


def test_validate_name__folds_uppercase() -> None:
    assert validate_name("Alice.Smith") == "alice.smith"


def test_validate_name__accepts_64_characters() -> None:
    assert validate_name("a" * 64) == "a" * 64


def test_validate_name__uuid_lookalike_with_letters_first_is_refused() -> None:
    with pytest.raises(InvalidName):
        validate_name("deadbeef-dead-beef-dead-beefdeadbeef")


@pytest.mark.parametrize("gid", [0, 999, 60000, 65534, 65535, 61184, 600000, 2**31, -1])
def test_validate_gidnumber__refuses_reserved(gid: int) -> None:
    with pytest.raises(ReservedGid):
        validate_gidnumber(gid)


@pytest.mark.parametrize("gid", [1000, 59999, 65536, 524287])
def test_validate_gidnumber__accepts(gid: int) -> None:
    assert validate_gidnumber(gid) == gid


def test_validate_gidnumber__refuses_bool_and_text() -> None:
    with pytest.raises(ReservedGid):
        validate_gidnumber(True)
    with pytest.raises(ReservedGid):
        validate_gidnumber("70000")
