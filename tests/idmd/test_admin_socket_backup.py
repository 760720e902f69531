"""The admin socket's ``backup`` op over a real unix socket, backed by the real backup service
on a real database in tmp_path."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest
import trio

from hermit_common.clock import FakeClock
from hermit_common.errors import InvalidRequest
from idmd.admin_socket import (
    Backup,
    admin_request,
    bind_admin_socket,
    parse_request,
    serve_admin_socket,
)
from idmd.backup.format import open_backup
from idmd.backup.service import BackupService
from idmd.server import QueryServer
from tests.idmd.entries import DOMAIN
from tests.idmd.fake_admin_target import FakeIdm

TIMEOUT = 30.0


@pytest.fixture
async def socket_path(tmp_path: Path, nursery: trio.Nursery) -> AsyncIterator[Path]:
    db = tmp_path / "hermit.db"
    clock = FakeClock()
    server = QueryServer(str(db), domain=DOMAIN, clock=clock)
    backups = BackupService(db, domain=DOMAIN, compression="gzip", clock=clock)
    yield await serve_backups(tmp_path / "admin.sock", backups, nursery)
    nursery.cancel_scope.cancel()
    server.close()


async def serve_backups(
    path: Path, backups: BackupService | None, nursery: trio.Nursery
) -> Path:
    """Serve an admin socket at ``path`` whose ``backup`` op goes to ``backups``."""
    sock = bind_admin_socket(path)
    await nursery.start(
        partial(
            serve_admin_socket, sock, FakeIdm(), allowed_uids=frozenset({os.geteuid()}),
            backups=backups,
        )
    )
    return path


async def ask(path: Path, obj: dict[str, object]) -> dict[str, object]:
    return await trio.to_thread.run_sync(lambda: admin_request(path, obj, timeout=TIMEOUT))


def header_of(path: Path) -> tuple[int, str]:
    with open_backup(path) as backup:
        return backup.header.entries, backup.header.compression


async def test_admin_socket__backup_writes_a_checked_file(
    socket_path: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "b.hbk"
    reply = await ask(socket_path, {"op": "backup", "path": str(dest), "compression": "lzma"})
    entries, compression = await trio.to_thread.run_sync(header_of, dest)
    assert reply == {
        "status": "ok", "path": str(dest), "entries": entries, "bytes": dest.stat().st_size,
        "compression": "lzma", "created_at": "2027-01-15T08:00:00Z",
    }
    assert compression == "lzma"
    assert dest.stat().st_mode & 0o777 == 0o600


async def test_admin_socket__backup_defaults_to_the_configured_compression(
    socket_path: Path, tmp_path: Path
) -> None:
    reply = await ask(socket_path, {"op": "backup", "path": str(tmp_path / "b.hbk")})
    assert reply["compression"] == "gzip"


async def test_admin_socket__backup_refusal_is_its_wire_code(
    socket_path: Path, tmp_path: Path
) -> None:
    (tmp_path / "link.hbk").symlink_to(tmp_path / "elsewhere")
    reply = await ask(socket_path, {"op": "backup", "path": str(tmp_path / "link.hbk")})
    assert reply == {
        "status": "error", "error": "backup_refused",
        "detail": f"{tmp_path / 'link.hbk'} is a symbolic link; refusing to write through it",
    }


async def test_admin_socket__backup_into_a_missing_directory_is_refused(
    socket_path: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "nope" / "b.hbk"
    reply = await ask(socket_path, {"op": "backup", "path": str(dest)})
    assert reply == {
        "status": "error", "error": "backup_refused", "detail": f"{dest.parent} is not a directory"
    }
    assert not dest.parent.exists()


async def test_admin_socket__backup_of_an_unreadable_database_fails_in_one_line(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    gone = tmp_path / "gone.db"
    backups = BackupService(gone, domain=DOMAIN, compression="gzip", clock=FakeClock())
    path = await serve_backups(tmp_path / "admin.sock", backups, nursery)
    out = tmp_path / "out"
    out.mkdir()
    reply = await ask(path, {"op": "backup", "path": str(out / "b.hbk")})
    assert reply["status"] == "error"
    assert reply["error"] == "backup_failed"
    assert reply["detail"] == f"cannot read {gone}: unable to open database file"
    assert list(out.iterdir()) == []
    assert not gone.exists()
    nursery.cancel_scope.cancel()


async def test_admin_socket__backup_without_a_service_is_unavailable(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    path = await serve_backups(tmp_path / "admin.sock", None, nursery)
    reply = await ask(path, {"op": "backup", "path": str(tmp_path / "b.hbk")})
    assert reply == {
        "status": "error", "error": "unavailable", "detail": "this server makes no backups"
    }
    nursery.cancel_scope.cancel()


def test_parse_request__accepts_backup() -> None:
    assert parse_request({"v": 1, "op": "backup", "path": "/b.hbk"}) == Backup(
        Path("/b.hbk"), None, False
    )
    assert parse_request(
        {"v": 1, "op": "backup", "path": "/b.hbk", "compression": "lzma", "replace": True}
    ) == Backup(Path("/b.hbk"), "lzma", True)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"v": 1, "op": "backup"}, "needs an absolute 'path'"),
        ({"v": 1, "op": "backup", "path": "relative.hbk"}, "needs an absolute 'path'"),
        ({"v": 1, "op": "backup", "path": "/a\0b"}, "needs an absolute 'path'"),
        ({"v": 1, "op": "backup", "path": "/" + "x" * 5000}, "needs an absolute 'path'"),
        ({"v": 1, "op": "backup", "path": 7}, "needs an absolute 'path'"),
        ({"v": 1, "op": "backup", "path": "/b", "compression": "zstd"},
         "must be one of gzip, lzma"),
        ({"v": 1, "op": "backup", "path": "/b", "replace": "yes"},
         "'replace' must be true or false"),
        ({"v": 1, "op": "backup", "path": "/b", "mode": "0644"}, "unknown key 'mode'"),
    ],
)
def test_parse_request__refuses_backup(obj: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse_request(obj)
