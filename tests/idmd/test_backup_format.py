"""The backup file format: round trips, and every kind of damage refused with one line."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import lzma
import struct
from pathlib import Path

import pytest

from idmd.backup.errors import InvalidBackup
from idmd.backup.format import (
    MAGIC,
    MAX_DATABASE_BYTES,
    BackupHeader,
    Compression,
    compress_into,
    open_backup,
    write_backup,
)

DATA = b"SQLite format 3\0" + bytes(range(256)) * 64


def header_for(
    payload: bytes, *, kind: Compression = "gzip", extra: dict[str, object] | None = None,
    **fields: object,
) -> dict[str, object]:
    obj: dict[str, object] = {
        "created_at": "2026-11-25T14:40:00Z", "entries": 3, "hermit_version": "0.1.0",
        "domain": "example.com", "compression": kind, "database_bytes": len(DATA),
        "payload_bytes": len(payload), "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    obj.update(fields)
    obj.update(extra or {})
    return obj


def craft(path: Path, header: object, payload: bytes, *, version: int = 1,
          magic: bytes = MAGIC) -> Path:
    """A backup file with any header, its digest recomputed (what a forger could do)."""
    raw = json.dumps(header).encode()
    preamble = struct.pack(">8sHI", magic, version, len(raw)) + raw
    path.write_bytes(preamble + hashlib.sha256(raw).digest() + payload)
    return path


def build(tmp_path: Path, compression: Compression = "gzip", data: bytes = DATA) -> Path:
    """A backup written the way the server writes one."""
    payload = io.BytesIO()
    size, digest = compress_into(io.BytesIO(data), payload, compression)
    header = BackupHeader(
        created_at="2026-11-25T14:40:00Z", entries=3, hermit_version="0.1.0",
        domain="example.com", compression=compression, database_bytes=len(data),
        payload_bytes=size, payload_sha256=digest,
    )
    path = tmp_path / "b.hbk"
    payload.seek(0)
    with path.open("wb") as handle:
        written = write_backup(handle, header, payload)
    assert written == path.stat().st_size
    return path


def restored(path: Path) -> bytes:
    out = io.BytesIO()
    with open_backup(path) as backup:
        backup.extract(out)
    return out.getvalue()


def refusal(path: Path) -> str:
    with pytest.raises(InvalidBackup) as info:
        restored(path)
    message = info.value.detail
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


@pytest.mark.parametrize("compression", ["gzip", "lzma"])
def test_backup_format__round_trip(tmp_path: Path, compression: Compression) -> None:
    path = build(tmp_path, compression)
    assert restored(path) == DATA
    with open_backup(path) as backup:
        assert backup.header.compression == compression
        assert backup.header.entries == 3
        assert backup.header.database_bytes == len(DATA)


def test_backup_format__layout_is_the_documented_one(tmp_path: Path) -> None:
    data = build(tmp_path).read_bytes()
    magic, version, length = struct.unpack(">8sHI", data[:14])
    assert (magic, version) == (b"HERMITBK", 1)
    header = json.loads(data[14 : 14 + length])
    assert data[14 + length : 46 + length] == hashlib.sha256(data[14 : 14 + length]).digest()
    payload = data[46 + length :]
    assert len(payload) == header["payload_bytes"]
    assert hashlib.sha256(payload).hexdigest() == header["payload_sha256"]
    assert gzip.decompress(payload) == DATA  # the payload alone is a gzip member


def test_backup_format__lzma_payload_is_xz(tmp_path: Path) -> None:
    data = build(tmp_path, "lzma").read_bytes()
    (length,) = struct.unpack(">I", data[10:14])
    assert lzma.decompress(data[46 + length :], format=lzma.FORMAT_XZ) == DATA


@pytest.mark.parametrize("keep", [0, 5, 8, 12, 14, 30, -40, -33, -1])
def test_backup_format__truncated_file_is_refused(tmp_path: Path, keep: int) -> None:
    path = build(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    message = refusal(path)
    assert "truncated" in message or "no HERMITBK magic" in message


def test_backup_format__empty_file_is_not_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "empty.hbk"
    path.write_bytes(b"")
    assert refusal(path) == f"{path}: not a hermit backup (no HERMITBK magic)"


def test_backup_format__flipped_byte_in_the_header_is_refused(tmp_path: Path) -> None:
    path = build(tmp_path)
    data = bytearray(path.read_bytes())
    data[20] ^= 0x01  # inside the JSON header
    path.write_bytes(bytes(data))
    assert refusal(path) == f"{path}: the header's SHA-256 does not match (damaged file)"


def test_backup_format__flipped_byte_in_the_header_digest_is_refused(tmp_path: Path) -> None:
    path = build(tmp_path)
    data = bytearray(path.read_bytes())
    (length,) = struct.unpack(">I", data[10:14])
    data[14 + length + 5] ^= 0x80
    path.write_bytes(bytes(data))
    assert "header's SHA-256 does not match" in refusal(path)


@pytest.mark.parametrize("where", [0, 100, -1])
def test_backup_format__flipped_byte_in_the_payload_is_refused(tmp_path: Path, where: int) -> None:
    path = build(tmp_path)
    data = bytearray(path.read_bytes())
    (length,) = struct.unpack(">I", data[10:14])
    data[46 + length + where if where >= 0 else where] ^= 0x01
    path.write_bytes(bytes(data))
    assert refusal(path) == (
        f"{path}: the payload's SHA-256 does not match its header (damaged or altered file)"
    )


def test_backup_format__wrong_magic_is_refused(tmp_path: Path) -> None:
    path = build(tmp_path)
    path.write_bytes(b"SQLite f" + path.read_bytes()[8:])
    assert refusal(path) == f"{path}: not a hermit backup (no HERMITBK magic)"


def test_backup_format__a_future_version_is_refused(tmp_path: Path) -> None:
    payload = gzip.compress(DATA)
    path = craft(tmp_path / "v2.hbk", header_for(payload), payload, version=2)
    assert refusal(path) == (
        f"{path}: backup format version 2 (from a newer hermit); this hermit reads version 1"
    )


def test_backup_format__version_0_is_refused(tmp_path: Path) -> None:
    payload = gzip.compress(DATA)
    path = craft(tmp_path / "v0.hbk", header_for(payload), payload, version=0)
    assert "version 0 (from an unknown writer)" in refusal(path)


@pytest.mark.parametrize("length", [0, 1, 64 * 1024 + 1, 0xFFFFFFFF])
def test_backup_format__header_length_out_of_bounds_is_refused(
    tmp_path: Path, length: int
) -> None:
    path = tmp_path / "len.hbk"
    path.write_bytes(struct.pack(">8sHI", MAGIC, 1, length) + b"{}" * 10)
    assert refusal(path) == f"{path}: header length {length} is out of bounds (damaged file)"


@pytest.mark.parametrize("field", ["payload_bytes", "database_bytes", "entries"])
def test_backup_format__a_huge_declared_size_is_refused(tmp_path: Path, field: str) -> None:
    payload = gzip.compress(DATA)
    path = craft(tmp_path / "huge.hbk", header_for(payload, extra={field: 1 << 62}), payload)
    assert refusal(path) == (
        f"{path}: header field {field!r} declares {1 << 62}, more than the "
        f"{MAX_DATABASE_BYTES} a restore accepts"
    )


def test_backup_format__declared_payload_longer_than_the_file_is_truncation(
    tmp_path: Path,
) -> None:
    payload = gzip.compress(DATA)
    header = header_for(payload, payload_bytes=len(payload) + 1000)
    path = craft(tmp_path / "short.hbk", header, payload)
    assert "truncated" in refusal(path)


def test_backup_format__trailing_bytes_are_refused(tmp_path: Path) -> None:
    path = build(tmp_path)
    path.write_bytes(path.read_bytes() + b"extra")
    assert refusal(path) == f"{path}: 5 unexpected bytes after the payload (damaged file)"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ([1, 2], "the header is not a JSON object"),
        ({"entries": 1}, "header field 'compression' is missing or not a short string"),
        ("x" * 10, "the header is not a JSON object"),
    ],
)
def test_backup_format__a_malformed_header_is_refused(
    tmp_path: Path, header: object, message: str
) -> None:
    path = craft(tmp_path / "bad.hbk", header, b"")
    assert refusal(path) == f"{path}: {message}"


def test_backup_format__a_header_that_is_not_json_is_refused(tmp_path: Path) -> None:
    raw = b"{not json"
    path = tmp_path / "nojson.hbk"
    path.write_bytes(
        struct.pack(">8sHI", MAGIC, 1, len(raw)) + raw + hashlib.sha256(raw).digest()
    )
    assert refusal(path) == f"{path}: the header is not JSON"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"compression": "zstd"}, "unknown compression 'zstd' (known: gzip, lzma)"),
        ({"payload_sha256": "00"}, "header field 'payload_sha256' is not a SHA-256 digest"),
        ({"entries": -1}, "header field 'entries' is missing or not a count"),
        ({"entries": True}, "header field 'entries' is missing or not a count"),
        ({"database_bytes": "5"}, "header field 'database_bytes' is missing or not a count"),
        ({"domain": ""}, "header field 'domain' is missing or not a short string"),
    ],
)
def test_backup_format__a_bad_header_field_is_refused(
    tmp_path: Path, fields: dict[str, object], message: str
) -> None:
    payload = gzip.compress(DATA)
    path = craft(tmp_path / "field.hbk", header_for(payload, extra=fields), payload)
    assert refusal(path) == f"{path}: {message}"


def test_backup_format__unknown_header_keys_are_ignored(tmp_path: Path) -> None:
    payload = gzip.compress(DATA)
    path = craft(tmp_path / "extra.hbk", header_for(payload, comment="later"), payload)
    assert restored(path) == DATA


def test_backup_format__more_output_than_declared_is_refused(tmp_path: Path) -> None:
    # A forged header: a small database_bytes over a payload that inflates far beyond it.
    payload = gzip.compress(bytes(50 << 20))
    path = craft(tmp_path / "bomb.hbk", header_for(payload, database_bytes=1024), payload)
    assert refusal(path) == (
        f"{path}: the payload decompresses to more than the 1024 bytes its header declares"
    )


def test_backup_format__less_output_than_declared_is_refused(tmp_path: Path) -> None:
    payload = gzip.compress(DATA)
    path = craft(tmp_path / "less.hbk", header_for(payload, database_bytes=len(DATA) + 1), payload)
    assert refusal(path) == (
        f"{path}: the payload decompresses to {len(DATA)} bytes, not the {len(DATA) + 1} "
        f"its header declares"
    )


@pytest.mark.parametrize("compression", ["gzip", "lzma"])
def test_backup_format__a_payload_that_does_not_decompress_is_refused(
    tmp_path: Path, compression: Compression
) -> None:
    payload = b"not compressed at all"
    path = craft(tmp_path / "raw.hbk", header_for(payload, kind=compression), payload)
    assert "the payload does not decompress" in refusal(path)


@pytest.mark.parametrize("compression", ["gzip", "lzma"])
def test_backup_format__data_after_the_compressed_stream_is_refused(
    tmp_path: Path, compression: Compression
) -> None:
    squeeze = gzip.compress if compression == "gzip" else lzma.compress
    payload = squeeze(DATA) + b"junk"
    path = craft(tmp_path / "tail.hbk", header_for(payload, kind=compression), payload)
    assert "the payload does not decompress" in refusal(path)


def test_backup_format__a_file_changed_after_the_check_is_refused(tmp_path: Path) -> None:
    path = build(tmp_path)
    size = path.stat().st_size
    with open_backup(path) as backup:
        with path.open("r+b") as other:  # someone rewrites the payload in place
            other.seek(size - 10)
            other.write(b"\0" * 10)
        with pytest.raises(InvalidBackup) as info:
            backup.extract(io.BytesIO())
    assert info.value.detail == f"{path}: the file changed while it was being restored"


def test_backup_format__a_directory_is_not_a_backup(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        restored(tmp_path)


def test_backup_format__every_single_bit_flip_is_refused(tmp_path: Path) -> None:
    # Exhaustive over a small backup: magic, version, length, header, digests and payload.
    path = build(tmp_path, data=b"SQLite format 3\0" + bytes(64))
    original = path.read_bytes()
    damaged = tmp_path / "flipped.hbk"
    for index in range(len(original)):
        data = bytearray(original)
        data[index] ^= 1 << (index % 8)
        damaged.write_bytes(bytes(data))
        with pytest.raises(InvalidBackup):
            restored(damaged)
