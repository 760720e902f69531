"""Backup and restore on real SQLite files: what comes back, and every refusal leaving the
existing database byte for byte as it was."""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import apsw
import pytest

from hermit_common.clock import FakeClock
from idmd.backup.errors import BackupRefused, InvalidBackup
from idmd.backup.format import (
    MAGIC,
    BackupHeader,
    compress_into,
    open_backup,
    write_backup,
)
from idmd.backup.restore import restore_backup
from idmd.backup.snapshot import make_backup
from idmd.be.kv import NAMESPACES
from idmd.idm import Idm
from idmd.idm.auth.tokens import SIGNING_KEY_META, TokenSigner, new_session
from idmd.idm.credentials import totp
from idmd.idm.credentials.passwords import hash_password_sync
from idmd.server import QueryServer
from idmd.server.identity import INTERNAL
from idmd.server.mods import Set
from tests.idmd.entries import DOMAIN, make_person

ORIGIN = "https://idm.example.com"
Tables = dict[str, list[tuple[bytes, bytes]]]


def tables(path: Path) -> Tables:
    """Every row of every namespace, read straight from the file."""
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        rows = {ns: conn.execute(f"SELECT k, v FROM kv_{ns} ORDER BY k") for ns in NAMESPACES}
        return {ns: [(bytes(k), bytes(v)) for k, v in cursor] for ns, cursor in rows.items()}
    finally:
        conn.close()


def fingerprint(directory: Path) -> dict[str, str]:
    """Every file in ``directory`` and the SHA-256 of its bytes."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.iterdir()) if path.is_file()
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def source(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[Path, str]]:
    """A database holding a person with every kind of credential and a live session; yields
    its path and a token issued for that session (the server stays closed)."""
    directory = tmp_path / "source"
    directory.mkdir()
    db = directory / "hermit.db"
    idm = Idm.open(str(db), domain=DOMAIN, origin=ORIGIN, clock=clock)
    try:
        record = new_session(read_only=False, now=clock.now())
        api = {"id": "tok1", "label": "ci", "scope": "read_only",
               "issued_at": int(clock.now()), "expires_at": int(clock.now()) + 86400}
        with idm.server.write() as txn:
            alice = make_person(txn, "alice")
            txn.modify(INTERNAL, alice.uuid, [
                Set("password", frozenset({hash_password_sync("correct horse battery")})),
                Set("totp", frozenset({totp.new_record("phone").encode()})),
                Set("backup_code", frozenset({totp.hash_backup_code("abcd-efgh-jkmn")})),
                Set("api_token", frozenset({json.dumps(api)})),
                Set("auth_session", frozenset({record.encode()})),
            ])
            pem = txn.get_meta(SIGNING_KEY_META)
        assert pem is not None
        token = TokenSigner(pem, clock).issue(alice.uuid, record).reveal()
    finally:
        idm.close()
    yield db, str(token)


@pytest.fixture
def backup(tmp_path: Path, source: tuple[Path, str], clock: FakeClock) -> Path:
    dest = tmp_path / "alice.hbk"
    make_backup(source[0], dest, domain=DOMAIN, compression="gzip", now=clock.now())
    return dest


@pytest.fixture
def target(tmp_path: Path, clock: FakeClock) -> Path:
    """Another database in its own directory, with an entry the backup does not have."""
    directory = tmp_path / "target"
    directory.mkdir()
    db = directory / "hermit.db"
    server = QueryServer(str(db), domain=DOMAIN, clock=clock)
    with server.write() as txn:
        make_person(txn, "bob")
    server.close()
    return db


def test_restore__brings_back_every_row_credential_session_and_the_signing_key(
    source: tuple[Path, str], backup: Path, target: Path, clock: FakeClock
) -> None:
    expected = tables(source[0])
    info = restore_backup(backup, target, domain=DOMAIN, clock=clock)
    assert tables(target) == expected  # entries, indexes, credentials, sessions, meta, sys
    assert info.header.entries == len(expected["entry"])
    idm = Idm.open(str(target), domain=DOMAIN, origin=ORIGIN, clock=clock)
    try:
        caller = idm.login.authenticate(f"Bearer {source[1]}")  # issued before the backup
        assert caller.name == "alice"
        with idm.server.read() as txn:
            alice = txn.resolve("alice")
            assert alice is not None
            assert {"password", "totp", "backup_code", "api_token", "auth_session"} <= set(
                alice.attrs
            )
            assert txn.resolve("bob") is None
        assert idm.verify() == []
    finally:
        idm.close()


def test_restore__leaves_no_wal_or_temporary_file(
    backup: Path, target: Path, clock: FakeClock
) -> None:
    restore_backup(backup, target, domain=DOMAIN, clock=clock)
    assert sorted(p.name for p in target.parent.iterdir()) == ["hermit.db", "hermit.db.lock"]
    assert target.stat().st_mode & 0o777 == 0o600


def test_restore__folds_a_crashed_servers_wal_away_first(
    backup: Path, target: Path, clock: FakeClock, source: tuple[Path, str]
) -> None:
    # A WAL with committed frames, as a kill -9 leaves it: it must not be replayed later.
    conn = apsw.Connection(str(target))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("INSERT OR REPLACE INTO kv_meta(k, v) VALUES (x'00', x'01')")
    assert Path(f"{target}-wal").stat().st_size > 0
    restore_backup(backup, target, domain=DOMAIN, clock=clock)
    conn.close()
    assert not Path(f"{target}-wal").exists()
    assert tables(target) == tables(source[0])


def test_restore__into_a_directory_without_a_database(
    backup: Path, tmp_path: Path, clock: FakeClock, source: tuple[Path, str]
) -> None:
    db = tmp_path / "fresh" / "hermit.db"
    db.parent.mkdir()
    restore_backup(backup, db, domain=DOMAIN, clock=clock)
    assert tables(db) == tables(source[0])


# --- refusals: the existing database stays byte for byte -----------------------------------


def refused(backup: Path, target: Path, clock: FakeClock, error: type[Exception],
            domain: str = DOMAIN) -> str:
    before = fingerprint(target.parent)
    with pytest.raises(error) as info:
        restore_backup(backup, target, domain=domain, clock=clock)
    assert fingerprint(target.parent) == before
    detail = str(getattr(info.value, "detail", info.value))
    assert "\n" not in detail
    return detail


@pytest.mark.parametrize("keep", [10, 100, -500, -1])
def test_restore__truncated_backup_is_refused(
    backup: Path, target: Path, clock: FakeClock, keep: int
) -> None:
    backup.write_bytes(backup.read_bytes()[:keep])
    assert "truncated" in refused(backup, target, clock, InvalidBackup)


@pytest.mark.parametrize("where", [20, -1000, -1])
def test_restore__tampered_backup_is_refused(
    backup: Path, target: Path, clock: FakeClock, where: int
) -> None:
    data = bytearray(backup.read_bytes())
    data[where] ^= 0x10
    backup.write_bytes(bytes(data))
    assert "SHA-256 does not match" in refused(backup, target, clock, InvalidBackup)


def test_restore__another_domain_is_refused(
    backup: Path, target: Path, clock: FakeClock
) -> None:
    assert refused(backup, target, clock, InvalidBackup, domain="other.org") == (
        f"{backup}: the backup is of domain 'example.com'; this configuration's domain is "
        f"'other.org'"
    )


def test_restore__refused_while_a_server_holds_the_database(
    backup: Path, target: Path, clock: FakeClock
) -> None:
    server = QueryServer(str(target), domain=DOMAIN, clock=clock)
    try:
        message = refused(backup, target, clock, BackupRefused)
    finally:
        server.close()
    assert message == (
        f"a running hermit-idmd holds {target}; stop it first (systemctl stop hermit-idmd), "
        f"then restore"
    )


def test_restore__a_database_that_fails_verify_is_refused(
    tmp_path: Path, source: tuple[Path, str], target: Path, clock: FakeClock
) -> None:
    # A stray index row: a backup taken of a damaged database restores nothing.
    conn = apsw.Connection(str(source[0]))
    stray = b"name\0" + (999).to_bytes(8, "big")
    conn.execute("INSERT INTO kv_pres(k, v) VALUES (?, x'')", (stray,))
    conn.close()
    damaged = tmp_path / "damaged.hbk"
    make_backup(source[0], damaged, domain=DOMAIN, compression="gzip", now=clock.now())
    message = refused(damaged, target, clock, InvalidBackup)
    assert message == (
        f"{damaged}: the restored database fails verify: index pres: stray row name -> id 999"
    )


def test_restore__a_payload_that_is_not_a_database_is_refused(
    tmp_path: Path, target: Path, clock: FakeClock
) -> None:
    not_db = tmp_path / "notdb"
    not_db.write_bytes(b"this is not SQLite" * 100)
    # A well-formed backup of a file that is no database (the digests are right).
    payload = io.BytesIO()
    size, digest = compress_into(io.BytesIO(not_db.read_bytes()), payload, "gzip")
    header = BackupHeader("2026-11-25T14:40:00Z", 0, "0.1.0", DOMAIN, "gzip", 1800, size, digest)
    bad = tmp_path / "bad.hbk"
    payload.seek(0)
    with bad.open("wb") as handle:
        write_backup(handle, header, payload)
    assert "the payload is not a usable database" in refused(bad, target, clock, InvalidBackup)


def test_restore__not_a_backup_is_refused(
    tmp_path: Path, target: Path, clock: FakeClock
) -> None:
    assert "no HERMITBK magic" in refused(target, target, clock, InvalidBackup)


# --- making backups ---------------------------------------------------------------------------


def test_make_backup__is_0600_from_creation_even_with_umask_0(
    source: tuple[Path, str], tmp_path: Path, clock: FakeClock
) -> None:
    dest = tmp_path / "open.hbk"
    old = os.umask(0)
    try:
        make_backup(source[0], dest, domain=DOMAIN, compression="lzma", now=clock.now())
    finally:
        os.umask(old)
    assert dest.stat().st_mode & 0o777 == 0o600
    assert dest.read_bytes().startswith(MAGIC)


def test_make_backup__header_describes_the_snapshot(
    source: tuple[Path, str], backup: Path, clock: FakeClock
) -> None:
    with open_backup(backup) as checked:
        header = checked.header
    assert header.created_at == "2027-01-15T08:00:00Z"
    assert header.domain == DOMAIN
    assert header.entries == len(tables(source[0])["entry"])
    assert header.hermit_version == "0.1.0"


def test_make_backup__leaves_only_the_backup(
    source: tuple[Path, str], tmp_path: Path, clock: FakeClock
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    make_backup(source[0], out / "b.hbk", domain=DOMAIN, compression="gzip", now=clock.now())
    assert [p.name for p in out.iterdir()] == ["b.hbk"]


def test_make_backup__a_missing_database_leaves_nothing(tmp_path: Path, clock: FakeClock) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(apsw.CantOpenError):
        make_backup(tmp_path / "none.db", out / "b.hbk", domain=DOMAIN, compression="gzip",
                    now=clock.now())
    assert list(out.iterdir()) == []
    assert not (tmp_path / "none.db").exists()


def test_make_backup__refuses_a_symlink_destination(
    source: tuple[Path, str], tmp_path: Path, clock: FakeClock
) -> None:
    elsewhere = tmp_path / "elsewhere"
    link = tmp_path / "link.hbk"
    link.symlink_to(elsewhere)
    with pytest.raises(BackupRefused, match="is a symbolic link; refusing to write through it"):
        make_backup(source[0], link, domain=DOMAIN, compression="gzip", now=clock.now())
    assert not elsewhere.exists()
    assert link.is_symlink()


def test_make_backup__refuses_an_existing_file_unless_replacing(
    source: tuple[Path, str], backup: Path, clock: FakeClock
) -> None:
    old = backup.read_bytes()
    with pytest.raises(BackupRefused, match="exists; choose another name or replace it"):
        make_backup(source[0], backup, domain=DOMAIN, compression="gzip", now=clock.now())
    assert backup.read_bytes() == old
    clock.advance(60)
    make_backup(source[0], backup, domain=DOMAIN, compression="gzip", now=clock.now(),
                replace=True)
    with open_backup(backup) as checked:
        assert checked.header.created_at == "2027-01-15T08:01:00Z"


def test_make_backup__refuses_a_directory_destination(
    source: tuple[Path, str], tmp_path: Path, clock: FakeClock
) -> None:
    with pytest.raises(BackupRefused, match="exists and is not a regular file"):
        make_backup(source[0], tmp_path, domain=DOMAIN, compression="gzip", now=clock.now(),
                    replace=True)


def test_make_backup__is_one_committed_state_while_another_connection_writes(
    source: tuple[Path, str], tmp_path: Path, clock: FakeClock
) -> None:
    server = QueryServer(str(source[0]), domain=DOMAIN, clock=clock)
    try:
        made: list[object] = []

        def snapshot() -> None:
            made.append(make_backup(source[0], tmp_path / "mid.hbk", domain=DOMAIN,
                                    compression="gzip", now=clock.now()))

        with server.write() as txn:
            make_person(txn, "carol")  # staged, not committed, while the snapshot is taken
            thread = threading.Thread(target=snapshot)
            thread.start()
            thread.join(timeout=30)
        assert len(made) == 1
        with server.read() as reader:
            assert reader.resolve("carol") is not None
    finally:
        server.close()
    restored = tmp_path / "restored" / "hermit.db"
    restored.parent.mkdir()
    restore_backup(tmp_path / "mid.hbk", restored, domain=DOMAIN, clock=clock)
    server = QueryServer(str(restored), domain=DOMAIN, clock=clock)
    try:
        with server.read() as reader:
            assert reader.resolve("alice") is not None
            assert reader.resolve("carol") is None
    finally:
        server.close()
