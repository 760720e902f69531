"""The backend: the kv store's ordered prefix scans, index rows, the overlay and savepoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from idmd.be.backend import Backend, index_keys
from idmd.be.kv import KVConnection
from idmd.entry import Entry, freeze_attrs
from idmd.server.query import CODEC

SPEC = {"name": frozenset({"eq", "pres", "sub"}), "class": frozenset({"eq"})}


def test_kv__prefix_scan_is_ordered_and_bounded(tmp_path: Path) -> None:
    kv = KVConnection(str(tmp_path / "kv.db"))
    kv.create_tables()
    kv.begin_write()
    for key in (b"a\x00b", b"a\x00a", b"a\x01", b"a\xff\xff", b"b"):
        kv.put("eq", key, b"")
    kv.commit()
    assert kv.keys_prefix("eq", b"a\x00") == [b"a\x00a", b"a\x00b"]
    assert kv.keys_prefix("eq", b"a\xff") == [b"a\xff\xff"]
    assert kv.keys_prefix("eq", b"") == [b"a\x00a", b"a\x00b", b"a\x01", b"a\xff\xff", b"b"]
    kv.close()


def test_index_keys__rows_per_kind() -> None:
    rows = index_keys({"name": {"abcd"}, "class": {"x"}, "other": {"y"}}, 7, SPEC)
    suffix = (7).to_bytes(8, "big")
    assert rows["eq"] == {b"name\x00abcd\x00" + suffix, b"class\x00x\x00" + suffix}
    assert rows["pres"] == {b"name\x00" + suffix}
    assert rows["sub"] == {b"name\x00abc\x00" + suffix, b"name\x00bcd\x00" + suffix}


def test_index_keys__refuses_nul() -> None:
    with pytest.raises(ValueError):
        index_keys({"name": {"a\x00b"}}, 1, SPEC)


def _entry(id: int, name: str) -> Entry:
    return Entry(id, freeze_attrs({"name": [name], "class": ["c"]}))


def test_backend__stage_updates_indexes_and_savepoint_undoes(tmp_path: Path) -> None:
    be = Backend(str(tmp_path / "b.db"), CODEC, SPEC, cache_size=2)
    w = be.begin_write()
    assert w is not None
    assert be.begin_write() is None  # one writer
    with w.operation():
        w.stage(1, None, _entry(1, "alice"))
    with pytest.raises(RuntimeError), w.operation():
        w.stage(1, _entry(1, "alice"), _entry(1, "alyx"))
        w.stage(2, None, _entry(2, "bob"))
        raise RuntimeError
    assert list(w.eq_ids("name", "alice")) == [1]
    assert list(w.eq_ids("name", "bob")) == []
    assert w.get_entry(2) is None and w.get_entry(1) == _entry(1, "alice")
    w.commit()
    with be.read() as r:
        assert list(r.sub_ids("name", "lic")) == [1]
        assert list(r.pres_ids("name")) == [1]
        assert list(r.all_ids()) == [1]
    be.close()


def test_backend__cache_is_bounded_lru(tmp_path: Path) -> None:
    be = Backend(str(tmp_path / "b.db"), CODEC, SPEC, cache_size=2)
    w = be.begin_write()
    assert w is not None
    for i in (1, 2, 3):
        w.stage(i, None, _entry(i, f"n{i}"))
    w.commit()
    assert set(be.cache_snapshot()) == {2, 3}
    with be.read() as r:
        assert r.get_entry(1) == _entry(1, "n1")  # decoded from the store
    assert set(be.cache_snapshot()) == {3, 1}
    be.close()


def test_backend__reader_with_an_old_snapshot_never_caches_stale_entries(tmp_path: Path) -> None:
    be = Backend(str(tmp_path / "b.db"), CODEC, SPEC, cache_size=1)

    def write(*entries: Entry) -> None:
        w = be.begin_write()
        assert w is not None
        for e in entries:
            w.stage(e.id, w.get_entry(e.id), e)
        w.commit()

    write(_entry(1, "old"), _entry(2, "two"))
    with be.read() as reader:
        assert list(reader.all_ids()) == [1, 2]  # a read from SQLite fixes the snapshot
        write(_entry(1, "new"))
        write(_entry(2, "deux"))  # evicts entry 1 from the one-slot cache
        assert reader.get_entry(1) == _entry(1, "old")  # what its snapshot says...
    with be.read() as fresh:
        assert fresh.get_entry(1) == _entry(1, "new")  # ...but it never reached the cache
    be.close()
