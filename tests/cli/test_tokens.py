"""The token store: file modes, keys per url and name, and what a damaged file means."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hermit_cli.tokens import TokenStore, default_root
from hermit_common.secret import Secret

URL_A = "https://a.test:8443"
URL_B = "https://b.test:8443"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    # The modes must not depend on a careless umask.
    old = os.umask(0)
    yield
    os.umask(old)


def test_tokens__file_is_0600_and_dir_0700(tmp_path: Path, open_umask: None) -> None:
    store = TokenStore(tmp_path / "cache" / "hermit")
    path = store.save(URL_A, "alice", Secret("t1"))
    assert _mode(path) == 0o600
    assert _mode(store.root) == 0o700
    assert path.parent == store.root


def test_tokens__existing_loose_dir_is_tightened(tmp_path: Path) -> None:
    root = tmp_path / "hermit"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    TokenStore(root).save(URL_A, "alice", Secret("t1"))
    assert _mode(root) == 0o700


def test_tokens__replacing_keeps_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    store.save(URL_A, "alice", Secret("t1"))
    path = store.save(URL_A, "alice", Secret("t2"))
    assert _mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    loaded = store.load(URL_A, "alice")
    assert loaded is not None and loaded.token == Secret("t2")


def test_tokens__keyed_by_url_and_name(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    store.save(URL_A, "alice", Secret("a-alice"))
    store.save(URL_A, "bob", Secret("a-bob"))
    store.save(URL_B, "alice", Secret("b-alice"))
    for url, name, token in [
        (URL_A, "alice", "a-alice"), (URL_A, "bob", "a-bob"), (URL_B, "alice", "b-alice")
    ]:
        stored = store.load(url, name)
        assert stored is not None
        assert (stored.url, stored.name, stored.token.reveal()) == (url, name, token)
    assert [s.name for s in store.for_url(URL_A)] == ["alice", "bob"]
    assert [s.name for s in store.for_url(URL_B)] == ["alice"]


def test_tokens__names_are_folded(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    store.save(URL_A, "Alice", Secret("t"))
    stored = store.load(URL_A, "ALICE")
    assert stored is not None and stored.name == "alice"


def test_tokens__remove_forgets_only_that_one(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    store.save(URL_A, "alice", Secret("t"))
    store.save(URL_B, "alice", Secret("t"))
    assert store.remove(URL_A, "alice") is True
    assert store.remove(URL_A, "alice") is False
    assert store.load(URL_A, "alice") is None
    assert store.load(URL_B, "alice") is not None


def test_tokens__missing_root_is_empty(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "nowhere")
    assert store.for_url(URL_A) == []
    assert store.load(URL_A, "alice") is None


def test_tokens__damaged_file_is_no_login(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    store.save(URL_A, "alice", Secret("t"))
    store.path_for(URL_A, "alice").write_text("{not json")
    assert store.load(URL_A, "alice") is None
    assert store.for_url(URL_A) == []


def test_tokens__stored_token_repr_hides_it(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    store.save(URL_A, "alice", Secret("very-secret-token"))
    assert "very-secret-token" not in repr(store.load(URL_A, "alice"))


def test_tokens__default_root_follows_xdg(tmp_path: Path) -> None:
    assert default_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "hermit"


@pytest.mark.parametrize("value", ["", "relative/cache"])
def test_tokens__default_root_ignores_unset_or_relative_xdg(value: str) -> None:
    assert default_root({"XDG_CACHE_HOME": value}) == Path.home() / ".cache" / "hermit"
