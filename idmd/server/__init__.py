"""The query server: read and write transactions over the entry database.

Interface skeleton (signatures fixed by notes/storage_api.md); the implementation lands in the
next commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from idmd.clock import Clock
from idmd.entry import Entry
from idmd.filter import Filter
from idmd.server.identity import Identity
from idmd.server.mods import Mod


class ReadTxn:
    def search(
        self, ident: Identity, filt: Filter, *, allow_full_scan: bool = False
    ) -> list[Entry]:
        raise NotImplementedError

    def internal_search(
        self, filt: Filter, *, allow_full_scan: bool = False, force_full_scan: bool = False
    ) -> list[Entry]:
        raise NotImplementedError

    def get(self, uuid: str) -> Entry | None:
        raise NotImplementedError

    def resolve(self, text: str) -> Entry | None:
        raise NotImplementedError

    def get_meta(self, key: str) -> bytes | None:
        raise NotImplementedError


class WriteTxn(ReadTxn):
    def create(self, ident: Identity, attrs: Mapping[str, Iterable[str]]) -> Entry:
        raise NotImplementedError

    def modify(self, ident: Identity, uuid: str, mods: Sequence[Mod]) -> tuple[Entry, bool]:
        raise NotImplementedError

    def delete(self, ident: Identity, uuid: str) -> bool:
        raise NotImplementedError

    def set_meta(self, key: str, value: bytes) -> None:
        raise NotImplementedError


class QueryServer:
    def __init__(self, path: str, *, domain: str, clock: Clock) -> None:
        self.path = path
        self.domain = domain
        self.clock = clock

    def close(self) -> None:
        raise NotImplementedError

    @contextmanager
    def read(self) -> Iterator[ReadTxn]:
        raise NotImplementedError
        yield ReadTxn()

    @contextmanager
    def write(self) -> Iterator[WriteTxn]:
        raise NotImplementedError
        yield WriteTxn()

    def verify(self) -> list[str]:
        raise NotImplementedError
