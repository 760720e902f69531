"""idm validates the values a door hands it, whichever door it is (idmd/idm/__init__.py): these
tests call the ``Idm`` methods directly, with no web layer, with each bad value, and check the
exact error class, that nothing in the database changed, and that the refusal comes before
``ReadOnlySession`` and every access check (the order the REST routes answer in)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from hermit_common.errors import InvalidValue
from idmd import limits
from idmd.entry import Entry
from idmd.errors import InvalidName, InvalidSshKey
from idmd.filter import Pres
from idmd.idm import Caller, Idm
from idmd.server import builtin
from idmd.server.identity import INTERNAL
from tests.idmd.entries import make_group
from tests.idmd.idm_callers import admin, caller

KEY_LINE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJEnHZtvakz5EzUs3nLyedQAUj9UdXVlvSHoee5f6N3Z a@b"
BAD_TEXT: list[object] = ["", "   ", "tab\there", "bell\x07", "x" * (limits.MAX_TEXT_LEN + 1), 5]
BAD_TIME: list[object] = ["tomorrow", "2026-13-01T00:00:00Z", "2026-11-25T12:00:00", 1700000000]
BAD_GIDNUMBER: list[object] = ["5000", True, 1.5, None]
TOO_MANY_MAILS = [f"c{i}@example.com" for i in range(limits.MAX_MEMBERS_PER_REQUEST + 1)]
BAD_SHELL: list[object] = ["bin/sh", "/bin/sh:x", "/bin/../sh", "/bin/", "/bin/\x01sh", 7]

Op = Callable[[Idm, Caller], object]


def snapshot(idm: Idm) -> dict[str, Entry]:
    with idm.server.read() as txn:
        return {entry.uuid: entry for entry in txn.search(INTERNAL, Pres("uuid"))}


def refused(idm: Idm, who: Caller, op: Op, error: type[Exception]) -> None:
    """``op`` raises exactly ``error`` and leaves every entry as it was."""
    before = snapshot(idm)
    with pytest.raises(error) as raised:
        op(idm, who)
    assert type(raised.value) is error
    assert snapshot(idm) == before


async def refused_async(
    idm: Idm, who: Caller, op: Callable[[Idm, Caller], Awaitable[object]], error: type[Exception]
) -> None:
    before = snapshot(idm)
    with pytest.raises(error) as raised:
        await op(idm, who)
    assert type(raised.value) is error
    assert snapshot(idm) == before


def create_person(**values: object) -> Op:
    body: dict[str, object] = {"name": "carol", "displayname": "Carol", **values}
    return lambda idm, who: idm.create_account(who, "person", body)


def update_alice(**changes: object) -> Op:
    return lambda idm, who: idm.update_account(who, "person", "alice", changes)


def alice_posix(**values: object) -> Op:
    return lambda idm, who: idm.set_account_posix(who, "person", "alice", values)


def put_key(label: object, line: object) -> Op:
    return lambda idm, who: idm.put_ssh_key(who, "person", "alice", label, line)


def import_hash(raw: object) -> Op:
    return lambda idm, who: idm.import_password_hash(who, "person", "alice", "password", raw)


def api_token(expires_at: object) -> Op:
    # No service account "nobody": the value is refused before the lookup (not NotFound).
    return lambda idm, who: idm.create_api_token(
        who, "nobody", "ci", scope="read_only", expires_at=expires_at
    )


def create_group(description: object) -> Op:
    return lambda idm, who: idm.create_group(who, name="staff", description=description)


def update_group(**changes: object) -> Op:
    return lambda idm, who: idm.update_group(who, "admins_of_nothing", changes)


def group_posix(**values: object) -> Op:
    return lambda idm, who: idm.set_group_posix(who, "admins_of_nothing", values)


def group_policy(settings: Mapping[str, object]) -> Op:
    return lambda idm, who: idm.set_group_policy(who, "admins_of_nothing", settings)


def badlist(words: Any, *, add: bool) -> Op:
    return lambda idm, who: idm.change_badlist(who, words, add=add)


# Every operation that takes a door's values, with one bad value each and the exact error.
BAD: list[tuple[str, Op, type[Exception]]] = [
    *[(f"create displayname {v!r}", create_person(displayname=v), InvalidValue) for v in BAD_TEXT],
    ("create mail not a list", create_person(mail="carol@example.com"), InvalidValue),
    ("create mail null", create_person(mail=None), InvalidValue),
    ("create mail without @", create_person(mail=["carol"]), InvalidValue),
    ("create mail two @", create_person(mail=["a@b@c"]), InvalidValue),
    ("create mail blank", create_person(mail=[" "]), InvalidValue),
    ("create too many mails", create_person(mail=TOO_MANY_MAILS), InvalidValue),
    ("create name", create_person(name="9lives"), InvalidName),
    *[(f"update displayname {v!r}", update_alice(displayname=v), InvalidValue) for v in BAD_TEXT],
    ("update mail", update_alice(mail=["nowhere"]), InvalidValue),
    *[(f"update valid_from {v!r}", update_alice(valid_from=v), InvalidValue) for v in BAD_TIME],
    *[(f"update expire_at {v!r}", update_alice(expire_at=v), InvalidValue) for v in BAD_TIME],
    ("update name", update_alice(name="no spaces"), InvalidName),
    *[(f"posix gidnumber {v!r}", alice_posix(gidnumber=v), InvalidValue) for v in BAD_GIDNUMBER],
    *[(f"posix loginshell {v!r}", alice_posix(loginshell=v), InvalidValue) for v in BAD_SHELL],
    ("ssh key label", put_key("Bad Label!", KEY_LINE), InvalidValue),
    ("ssh key label too long", put_key("a" * (limits.MAX_SSH_KEY_LABEL_LEN + 1), KEY_LINE),
     InvalidValue),
    ("ssh key line", put_key("laptop", "ssh-ed25519 not-base64"), InvalidSshKey),
    ("ssh key not a string", put_key("laptop", 5), InvalidSshKey),
    ("imported hash plain", import_hash("correct horse battery staple"), InvalidValue),
    ("imported hash not a string", import_hash(5), InvalidValue),
    *[(f"api token expires_at {v!r}", api_token(v), InvalidValue) for v in BAD_TIME],
    *[(f"group description {v!r}", create_group(v), InvalidValue) for v in BAD_TEXT],
    ("update group description", update_group(description="\x85"), InvalidValue),
    *[(f"group gidnumber {v!r}", group_posix(gidnumber=v), InvalidValue) for v in BAD_GIDNUMBER],
    ("policy min_credential", group_policy({"min_credential": "sms"}), InvalidValue),
    ("policy session_lifetime low", group_policy({"session_lifetime": 1}), InvalidValue),
    (
        "policy privilege_lifetime high",
        group_policy({"privilege_lifetime": limits.MAX_PRIVILEGE_LIFETIME_SECONDS + 1}),
        InvalidValue,
    ),
    ("policy password_min_length bool", group_policy({"password_min_length": True}),
     InvalidValue),
    ("policy unknown setting", group_policy({"colour": None}), InvalidValue),
    ("policy attribute name", group_policy({"policy_min_credential": "mfa"}), InvalidValue),
    ("badlist blank", badlist([" "], add=True), InvalidValue),
    ("badlist not strings", badlist([5], add=True), InvalidValue),
    ("badlist long word", badlist(["x" * (limits.MAX_TEXT_LEN + 1)], add=True), InvalidValue),
    ("badlist remove blank", badlist([""], add=False), InvalidValue),
]


@pytest.fixture
def group(idm: Idm) -> Entry:
    with idm.server.write() as txn:
        return make_group(txn, "admins_of_nothing")


@pytest.mark.parametrize(("op", "error"), [(op, error) for _, op, error in BAD],
                         ids=[name for name, _, _ in BAD])
def test_idm_refuses_a_bad_value_and_changes_nothing(
    idm: Idm, alice: Entry, group: Entry, op: Op, error: type[Exception]
) -> None:
    # As idm admin and as the system admin: the value is refused whoever may write it.
    refused(idm, admin(idm), op, error)
    refused(idm, caller(idm, builtin.UUID_ADMIN), op, error)


# The values checked before the caller's rights (idm's name rule is checked in the
# transaction, after ReadOnlySession, as before): the same refusal to a read-only caller and
# to one who may change nothing.
BEFORE_ACCESS = [(name, op, error) for name, op, error in BAD if error is not InvalidName]


@pytest.mark.parametrize(("op", "error"), [(op, error) for _, op, error in BEFORE_ACCESS],
                         ids=[name for name, _, _ in BEFORE_ACCESS])
def test_idm_refuses_a_bad_value_before_any_access_check(
    idm: Idm, alice: Entry, group: Entry, op: Op, error: type[Exception]
) -> None:
    refused(idm, caller(idm, builtin.UUID_IDM_ADMIN, read_only=True), op, error)
    refused(idm, caller(idm, alice.uuid, read_only=True), op, error)
    refused(idm, caller(idm, alice.uuid), op, error)


@pytest.mark.parametrize("password_hash", ["$1$salt$nope", "", None, ["$6$x"]])
def test_import_password_hash__refused_before_the_own_account_rule(
    idm: Idm, alice: Entry, password_hash: object
) -> None:
    # Alice may not import a hash for herself (AccessDenied); a bad hash is refused first.
    refused(idm, caller(idm, alice.uuid), import_hash(password_hash), InvalidValue)


async def test_set_password__refuses_a_non_string_before_access(idm: Idm, alice: Entry) -> None:
    async def set_password(idm: Idm, who: Caller) -> object:
        return await idm.set_password(who, "person", "alice", "password", 12345678)  # type: ignore[arg-type]

    await refused_async(idm, caller(idm, alice.uuid, read_only=True), set_password, InvalidValue)


def test_good_values_pass_the_same_methods(idm: Idm, alice: Entry, group: Entry) -> None:
    # The negative cases above fail for their values, not for the way they are called.
    who = admin(idm)
    assert idm.create_account(who, "person", {"name": "carol", "displayname": "Carol",
                                              "mail": ["carol@example.com"]})[0]
    changed, entry = idm.update_account(
        who, "person", "alice", {"displayname": "Alice A", "expire_at": "2030-01-01T00:00:00+01:00"}
    )
    assert changed and entry["expire_at"] == "2029-12-31T23:00:00Z"
    assert idm.set_account_posix(who, "person", "alice", {"loginshell": "/bin/sh"})[0]
    assert idm.put_ssh_key(who, "person", "alice", "Laptop", KEY_LINE)[1]["label"] == "laptop"
    assert idm.create_group(who, name="staff", description="The staff")[0]
    assert idm.update_group(who, "staff", {"description": None})[0]
    assert idm.set_group_posix(who, "staff", {})[0]
    system_admin = caller(idm, builtin.UUID_ADMIN)
    assert idm.set_group_policy(system_admin, "staff", {"min_credential": "mfa"})[0]
    assert idm.change_badlist(system_admin, ["Hunter2hunter2"], add=True)[0]


@pytest.mark.parametrize("algorithm", ["md5", "SHA256", None, 256])
def test_begin_totp__refuses_an_unknown_algorithm_before_the_session(
    idm: Idm, alice: Entry, algorithm: object
) -> None:
    updates = idm.credential_updates
    # No session: the algorithm is refused first (not InvalidCredentialUpdate).
    with pytest.raises(InvalidValue) as raised:
        updates.begin_totp("no-such-session", "phone", unix=False, algorithm=algorithm)
    assert type(raised.value) is InvalidValue
    session = updates.begin(admin(idm), "alice")
    with pytest.raises(InvalidValue):
        updates.begin_totp(session, "phone", unix=False, algorithm=algorithm)
    assert updates.status(session)["pending_totp"] is None
    enrolment = updates.begin_totp(session, "phone", unix=False, algorithm="sha512")
    assert enrolment.algorithm == "sha512"
