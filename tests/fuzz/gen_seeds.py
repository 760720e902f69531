"""Writes the seed corpora of tests/fuzz from hermit's own encoders.

Every seed is something hermit produces: unixd's answers as ``encode_response`` frames them,
the requests its clients send as ``encode_request`` frames them, and the memory-cache files
``unixd.resolver.memcache.encode`` writes. So a seed is a real, valid input that reaches deep
into the parser, and the fuzzer mutates from there. Run it again after a format change:

    .venv/bin/python -m tests.fuzz.gen_seeds

It rewrites ``corpus/<target>/seed-*`` and leaves every other file there (inputs a long run
found worth keeping, named otherwise) alone. It does not fuzz and does not decide what a
target covers (``targets.py`` does).
"""

from __future__ import annotations

import json
from pathlib import Path

from unixd.proto import messages as m
from unixd.resolver import memcache as mc

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
# 2100-01-01: the memory-cache records are fresh whenever the fuzzer runs.
FAR_EXPIRY = 4_102_444_800

ALICE = m.Passwd(name="alice", uid=70001, gid=70001, gecos="Alice Liddell",
                 dir="/home/alice", shell="/bin/bash")
BOB = m.Passwd(name="bob", uid=70002, gid=70002, gecos="Bob \u00e9\u6771 \U0001f600",
               dir="/home/bob", shell="/bin/sh")
STAFF = m.Group(name="staff", gid=80000, members=("alice", "bob"))
DEV = m.Group(name="dev", gid=80001, members=())
ALICE_PRIVATE = m.Group(name="alice", gid=70001, members=())


def _body(response: m.Response) -> bytes:
    return m.encode_response(response)[4:]


def nss_replies() -> dict[str, bytes]:
    """What unixd answers the NSS module's requests."""
    return {
        "user": _body(m.UserResponse(ALICE)),
        "user-unicode": _body(m.UserResponse(BOB)),
        "users": _body(m.EncodedListResponse.of("users", [ALICE, BOB])),
        "users-empty": _body(m.EncodedListResponse.of("users", [])),
        "group": _body(m.GroupResponse(STAFF)),
        "group-no-members": _body(m.GroupResponse(DEV)),
        "groups": _body(m.EncodedListResponse.of("groups", [STAFF, DEV, ALICE_PRIVATE])),
        "gids": _body(m.InitgroupsResponse(gids=(80000, 80001))),
        "notfound": _body(m.NotFoundResponse()),
        "unavail": _body(m.UnavailResponse()),
        "error": _body(m.ErrorResponse(error="invalid_name", detail="field 'name' may hold "
                                       "only printable ASCII without ':', '/', ',' or spaces")),
    }


def other_replies() -> dict[str, bytes]:
    """What unixd answers the PAM module and the SSH keys helper (also read with json.c)."""
    return {
        "ssh-keys": _body(m.SshKeysResponse(keys=(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4 "
            "alice@laptop",
        ))),
        "pam-init": _body(m.PamAuthInitResponse(
            session="Zk9xUjN2c0t3bVhLd0FCcUlYb0Vad3lTRnpBdGRwR3Y",
            next=m.PasswordPrompt("Password: "))),
        "pam-code": _body(m.PamAuthStepResponse(next=m.CodePrompt("Verification code: "))),
        "pam-text": _body(m.PamAuthStepResponse(
            next=m.TextPrompt("Your password expires soon.\nChange it with hermit."))),
        "pam-denied": _body(m.PamAuthStepResponse(next=m.DeniedPrompt("wrong password"))),
        "pam-success": _body(m.PamAuthStepResponse(next=m.SuccessPrompt())),
        "pam-account": _body(m.PamAccountResponse(result="denied", reason="account expired")),
        "done": _body(m.DoneResponse()),
    }


def requests() -> dict[str, m.Request]:
    """One request of every op unixd answers."""
    return {
        "user-by-name": m.UserByName(name="alice"),
        "user-by-uid": m.UserByUid(uid=70001),
        "user-list": m.UserList(),
        "group-by-name": m.GroupByName(name="staff"),
        "group-by-gid": m.GroupByGid(gid=80000),
        "group-list": m.GroupList(),
        "initgroups": m.Initgroups(name="alice@example.com"),
        "ssh-keys": m.SshKeys(name="alice"),
        "pam-auth-init": m.PamAuthInit(name="alice", service="sshd"),
        "pam-auth-step": m.PamAuthStep(session="Zk9xUjN2c0t3bVhLd0FCcUlYb0Vad3lTRnpBdGRwR3Y",
                                       response="correct horse \u00e9"),
        "pam-account": m.PamAccount(name="alice"),
        "pam-session-open": m.PamSessionOpen(name="alice"),
        "status": m.Status(),
        "cache-invalidate": m.CacheInvalidate(),
        "cache-clear": m.CacheClear(),
    }


def memcache_files() -> dict[str, bytes]:
    """The three files unixd publishes beside its socket, as its writer encodes them."""
    return {
        "passwd.mc": mc.encode(mc.Kind.PASSWD, [
            mc.passwd_record(ALICE, FAR_EXPIRY), mc.passwd_record(BOB, FAR_EXPIRY)]),
        "group.mc": mc.encode(mc.Kind.GROUP, [
            mc.group_record(g, FAR_EXPIRY) for g in (STAFF, DEV, ALICE_PRIVATE)]),
        "initgroups.mc": mc.encode(mc.Kind.INITGROUPS, [
            mc.initgroups_record("alice", (70001, 80000, 80001), FAR_EXPIRY),
            mc.initgroups_record("bob", (), FAR_EXPIRY)]),
    }


def seeds() -> dict[str, dict[str, bytes]]:
    """Every target's seeds by file name."""
    payloads = {name: m.encode_request(r)[4:] for name, r in requests().items()}
    frames = [m.encode_request(r) for r in requests().values()]
    return {
        "json": {
            **nss_replies(), **other_replies(),
            **{f"request-{k}": v for k, v in payloads.items()},
            # The same answer as another JSON writer would put it: \u escapes (a surrogate
            # pair for the emoji) and blanks.
            "user-escaped": json.dumps(m.UserResponse(BOB).to_json(), indent=1).encode(),
        },
        "nss_reply": nss_replies(),
        "nss_memcache": memcache_files(),
        "unixd_requests": payloads,
        "unixd_frames": {
            "one-request": frames[0],
            "three-requests": b"".join(frames[:3]),
            "every-request": b"".join(frames),
            "pam-conversation": frames[8] + frames[9] + frames[10],
        },
    }


def main() -> None:
    for target, files in seeds().items():
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("seed-*"):
            old.unlink()
        for name, data in files.items():
            (folder / f"seed-{name}").write_bytes(data)
        print(f"{target}: {len(files)} seeds")


if __name__ == "__main__":
    main()
