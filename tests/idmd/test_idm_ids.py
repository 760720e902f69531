"""The shared id generator: ids never begin with ``-`` and keep their length and alphabet."""

from __future__ import annotations

import re
import secrets

from idmd.idm.ids import new_id

URLSAFE = re.compile(r"[A-Za-z0-9_-]+")


def test_new_id__never_begins_with_a_dash_over_many_draws() -> None:
    # 20 000 draws: a generator that let 1 in 64 through would show about 312 of them.
    ids = [new_id(16) for _ in range(20_000)]
    assert not [i for i in ids if i.startswith("-")]
    # The redraw does not make '-' rare elsewhere, nor shorten or bias the first character
    # toward a few values.
    assert any("-" in i for i in ids)
    assert len({i[0] for i in ids}) == 63


def test_new_id__same_length_and_alphabet_as_token_urlsafe() -> None:
    for nbytes in (16, 24, 32):
        drawn = new_id(nbytes)
        assert len(drawn) == len(secrets.token_urlsafe(nbytes))
        assert URLSAFE.fullmatch(drawn)


def test_new_id__distinct() -> None:
    assert len({new_id(16) for _ in range(1000)}) == 1000
