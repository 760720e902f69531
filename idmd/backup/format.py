"""The hermit backup file: writing one, and reading one back only after checking all of it.

What it does not do: it does not make the database snapshot (``snapshot``) nor put a restored
database in place (``restore``); it only frames, compresses and checks bytes.

Wire format (version 1); integers are big-endian::

    offset      size  field
    0           8     magic  b"HERMITBK"
    8           2     format version (1)
    10          4     H: header length, 2 .. 65,536
    14          H     header: a UTF-8 JSON object (below)
    14+H        32    SHA-256 of the H header bytes
    46+H        P     payload: the SQLite database, compressed as the header says
    46+H+P            end of file: nothing may follow

    header = {"created_at": "2026-11-25T14:40:00Z",   # UTC, when the snapshot was taken
              "entries": 10024,                      # entries in the snapshot
              "hermit_version": "0.1.0",
              "domain": "example.com",               # the server's domain (spn suffix)
              "compression": "gzip" | "lzma",
              "database_bytes": D,                   # the database once decompressed
              "payload_bytes": P,
              "payload_sha256": "64 hex digits"}     # SHA-256 of the P payload bytes

Rules:
- A reader checks, in this order and before it hands out a single payload byte: magic,
  version, header length, header digest, header fields, that the file is exactly
  46+H+P bytes long (shorter: truncated; longer: trailing bytes), and the payload digest.
  Each failure is an ``InvalidBackup`` with a one-line message naming the file.
- Decompression is bounded: more output than ``database_bytes`` is refused as soon as it
  appears (a forged header cannot make a restore fill the disk), and the payload is hashed
  again while it is decompressed, so a file changed after the check is refused too.
- Unknown header keys are ignored (a later hermit may add metadata within version 1); a
  format a reader cannot read gets a new version number, which older readers refuse.
- The digests detect corruption and truncation, not forgery: anyone who can write the file can
  recompute them (docs/backups.md).
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import re
import stat
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO, Literal, Protocol

from idmd.backup.errors import InvalidBackup

MAGIC = b"HERMITBK"
FORMAT_VERSION = 1
_PREAMBLE = struct.Struct(">8sHI")  # magic, version, header length
DIGEST_BYTES = 32
# The header is a few hundred bytes; 64 KiB leaves room for metadata added later while a
# damaged length field cannot make a reader allocate much.
MAX_HEADER_BYTES = 64 * 1024
# The largest database a restore accepts: far above any directory hermit is built for
# (10,000 entries are about 30 MB), so a corrupt or forged size is refused before any work.
MAX_DATABASE_BYTES = 1 << 40
CHUNK_BYTES = 1 << 20

Compression = Literal["gzip", "lzma"]
COMPRESSIONS: tuple[Compression, ...] = ("gzip", "lzma")
# gzip level 6 (zlib's default): most of the gain for a fraction of lzma's time; lzma preset 6
# (xz's default) when size matters more than time (docs/backups.md has the figures).
_GZIP_LEVEL = 6
_GZIP_WBITS = 31  # a gzip member (RFC 1952): the payload alone can be read with zcat
_LZMA_PRESET = 6
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_MAX_TEXT = 256


@dataclass(frozen=True)
class BackupHeader:
    created_at: str
    entries: int
    hermit_version: str
    domain: str
    compression: Compression
    database_bytes: int
    payload_bytes: int
    payload_sha256: str

    def encode(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()


def encode_preamble(header: BackupHeader) -> bytes:
    """Everything before the payload: magic, version, header and the header's digest."""
    raw = header.encode()
    return _PREAMBLE.pack(MAGIC, FORMAT_VERSION, len(raw)) + raw + hashlib.sha256(raw).digest()


# --- writing -------------------------------------------------------------------------------


class _Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...

    def flush(self) -> bytes: ...


def _compressor(compression: Compression) -> _Compressor:
    if compression == "gzip":
        return zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, _GZIP_WBITS)
    return lzma.LZMACompressor(format=lzma.FORMAT_XZ, preset=_LZMA_PRESET)


def compress_into(source: BinaryIO, dest: BinaryIO, compression: Compression) -> tuple[int, str]:
    """Compress all of ``source`` into ``dest``; return (bytes written, their SHA-256 hex)."""
    compressor = _compressor(compression)
    digest = hashlib.sha256()
    written = 0
    while chunk := source.read(CHUNK_BYTES):
        out = compressor.compress(chunk)
        digest.update(out)
        dest.write(out)
        written += len(out)
    out = compressor.flush()
    digest.update(out)
    dest.write(out)
    return written + len(out), digest.hexdigest()


def write_backup(dest: BinaryIO, header: BackupHeader, payload: BinaryIO) -> int:
    """Write a whole backup file: preamble, then ``header.payload_bytes`` bytes of ``payload``.

    Returns the size of the file.
    """
    preamble = encode_preamble(header)
    dest.write(preamble)
    copied = 0
    while chunk := payload.read(CHUNK_BYTES):
        dest.write(chunk)
        copied += len(chunk)
    if copied != header.payload_bytes:
        raise RuntimeError("the payload changed size while the backup was written")
    return len(preamble) + copied


# --- reading -------------------------------------------------------------------------------


class CheckedBackup:
    """An open backup file whose every byte has been checked (see ``open_backup``)."""

    def __init__(self, path: Path, handle: BinaryIO, header: BackupHeader, offset: int) -> None:
        self.path = path
        self.header = header
        self._handle = handle
        self._offset = offset  # Invariant: where the payload starts

    def extract(self, dest: BinaryIO) -> None:
        """Write the decompressed database to ``dest``.

        Errors: ``InvalidBackup`` when the payload no longer matches its digest, does not
        decompress, or decompresses to another size than the header says; ``dest`` then
        holds a part of it, which the caller throws away.
        """
        header, where = self.header, self.path
        self._handle.seek(self._offset)
        digest = hashlib.sha256()
        chunks = self._payload_chunks(digest)
        produced = 0
        failure: InvalidBackup | None = None
        try:
            for piece in _decompress(header.compression, chunks):
                produced += len(piece)
                if produced > header.database_bytes:
                    raise InvalidBackup(
                        f"{where}: the payload decompresses to more than the "
                        f"{header.database_bytes} bytes its header declares"
                    )
                dest.write(piece)
        except (zlib.error, lzma.LZMAError, EOFError) as exc:
            failure = InvalidBackup(f"{where}: the payload does not decompress ({exc})")
        except InvalidBackup as exc:
            failure = exc
        for _rest in chunks:
            pass  # hashed to the end: a file changed since the check is named as such
        if digest.hexdigest() != header.payload_sha256:
            raise InvalidBackup(f"{where}: the file changed while it was being restored")
        if failure is not None:
            raise failure
        if produced != header.database_bytes:
            raise InvalidBackup(
                f"{where}: the payload decompresses to {produced} bytes, not the "
                f"{header.database_bytes} its header declares"
            )

    def _payload_chunks(self, digest: hashlib._Hash) -> Iterator[bytes]:
        left = self.header.payload_bytes
        while left:
            chunk = self._handle.read(min(CHUNK_BYTES, left))
            if not chunk:
                raise InvalidBackup(f"{self.path}: the file changed while it was being restored")
            digest.update(chunk)
            left -= len(chunk)
            yield chunk


@contextmanager
def open_backup(path: Path) -> Iterator[CheckedBackup]:
    """Open the backup at ``path`` and check all of it (see the rules above).

    Errors: ``InvalidBackup`` (one line, naming ``path``); ``OSError`` when it cannot be read.
    Resources: the file stays open inside the ``with`` block.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InvalidBackup(f"{path}: not a regular file")
        header, offset = read_header(handle, info.st_size, path)
        _check_payload(handle, header, path)
        yield CheckedBackup(path, handle, header, offset)


def read_header(handle: BinaryIO, size: int, path: Path) -> tuple[BackupHeader, int]:
    """The checked header and where the payload starts; the file must be ``size`` bytes."""
    preamble = handle.read(_PREAMBLE.size)
    if len(preamble) < len(MAGIC) or not preamble.startswith(MAGIC):
        raise InvalidBackup(f"{path}: not a hermit backup (no HERMITBK magic)")
    if len(preamble) < _PREAMBLE.size:
        raise InvalidBackup(f"{path}: truncated within the first {_PREAMBLE.size} bytes")
    _magic, version, length = _PREAMBLE.unpack(preamble)
    if version != FORMAT_VERSION:
        newer = "a newer hermit" if version > FORMAT_VERSION else "an unknown writer"
        raise InvalidBackup(
            f"{path}: backup format version {version} (from {newer}); this hermit reads "
            f"version {FORMAT_VERSION}"
        )
    if not 2 <= length <= MAX_HEADER_BYTES:
        raise InvalidBackup(f"{path}: header length {length} is out of bounds (damaged file)")
    raw = handle.read(length)
    stored_digest = handle.read(DIGEST_BYTES)
    offset = _PREAMBLE.size + length + DIGEST_BYTES
    if len(raw) < length or len(stored_digest) < DIGEST_BYTES:
        raise InvalidBackup(f"{path}: truncated: {size} bytes, its header alone needs {offset}")
    if hashlib.sha256(raw).digest() != stored_digest:
        raise InvalidBackup(f"{path}: the header's SHA-256 does not match (damaged file)")
    header = _parse_header(raw, path)
    expected = offset + header.payload_bytes
    if size < expected:
        raise InvalidBackup(f"{path}: truncated: {size} bytes of {expected}")
    if size > expected:
        raise InvalidBackup(
            f"{path}: {size - expected} unexpected bytes after the payload (damaged file)"
        )
    return header, offset


def _check_payload(handle: BinaryIO, header: BackupHeader, path: Path) -> None:
    digest = hashlib.sha256()
    left = header.payload_bytes
    while left:
        chunk = handle.read(min(CHUNK_BYTES, left))
        if not chunk:
            raise InvalidBackup(f"{path}: truncated while it was being read")
        digest.update(chunk)
        left -= len(chunk)
    if digest.hexdigest() != header.payload_sha256:
        raise InvalidBackup(
            f"{path}: the payload's SHA-256 does not match its header (damaged or altered file)"
        )


def _parse_header(raw: bytes, path: Path) -> BackupHeader:
    try:
        obj = json.loads(raw)
    except ValueError as exc:  # also UnicodeDecodeError and numbers too long to convert
        raise InvalidBackup(f"{path}: the header is not JSON") from exc
    if not isinstance(obj, dict):
        raise InvalidBackup(f"{path}: the header is not a JSON object")

    def text(key: str) -> str:
        value = obj.get(key)
        if not isinstance(value, str) or not value or len(value) > _MAX_TEXT:
            raise InvalidBackup(f"{path}: header field {key!r} is missing or not a short string")
        return value

    def count(key: str, upper: int) -> int:
        value = obj.get(key)
        if type(value) is not int or value < 0:
            raise InvalidBackup(f"{path}: header field {key!r} is missing or not a count")
        if value > upper:
            raise InvalidBackup(
                f"{path}: header field {key!r} declares {value}, more than the {upper} a "
                f"restore accepts"
            )
        return value

    compression = text("compression")
    if compression not in COMPRESSIONS:
        raise InvalidBackup(
            f"{path}: unknown compression {compression!r} (known: {', '.join(COMPRESSIONS)})"
        )
    digest = text("payload_sha256")
    if not _SHA256_HEX.fullmatch(digest):
        raise InvalidBackup(f"{path}: header field 'payload_sha256' is not a SHA-256 digest")
    return BackupHeader(
        created_at=text("created_at"),
        entries=count("entries", MAX_DATABASE_BYTES),
        hermit_version=text("hermit_version"),
        domain=text("domain"),
        compression=compression,
        database_bytes=count("database_bytes", MAX_DATABASE_BYTES),
        payload_bytes=count("payload_bytes", MAX_DATABASE_BYTES),
        payload_sha256=digest,
    )


def _decompress(compression: Compression, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The decompressed bytes, at most ``CHUNK_BYTES`` at a time whatever the ratio.

    Errors: ``EOFError`` when the stream ends early or data follows its end.
    """
    if compression == "gzip":
        inflate = zlib.decompressobj(_GZIP_WBITS)
        for chunk in chunks:
            data = chunk
            while True:
                out = inflate.decompress(data, CHUNK_BYTES)
                data = inflate.unconsumed_tail
                yield out
                if not data and len(out) < CHUNK_BYTES:
                    break
        if not inflate.eof or inflate.unused_data:
            raise EOFError("the gzip stream is cut short or followed by other data")
        return
    xz = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    for chunk in chunks:
        if xz.eof:
            raise EOFError("data after the end of the xz stream")
        yield xz.decompress(chunk, CHUNK_BYTES)
        while not xz.needs_input and not xz.eof:
            yield xz.decompress(b"", CHUNK_BYTES)
    if not xz.eof or xz.unused_data:
        raise EOFError("the xz stream is cut short or followed by other data")
