"""The CSRF guard alone: a token works only for its binding, its process and idmd's origin."""

from __future__ import annotations

import pytest

from hermit_common.secret import Secret
from idmd.web.csrf import CsrfGuard, new_browser_id

ORIGIN = "https://idm.example.com"
ALICE = Secret("session:token-of-alice")


def test_csrf__token_of_the_binding_and_origin_is_allowed() -> None:
    guard = CsrfGuard(ORIGIN)
    assert guard.allows(ALICE, guard.token(ALICE), ORIGIN)


def test_csrf__token_of_another_binding_is_refused() -> None:
    guard = CsrfGuard(ORIGIN)
    other = Secret("session:token-of-mallory")
    assert not guard.allows(ALICE, guard.token(other), ORIGIN)


def test_csrf__token_of_another_process_is_refused() -> None:
    assert not CsrfGuard(ORIGIN).allows(ALICE, CsrfGuard(ORIGIN).token(ALICE), ORIGIN)


@pytest.mark.parametrize(
    "origin",
    [None, "null", "https://evil.example", "https://idm.example.com:8443",
     "http://idm.example.com", "https://idm.example.com/", "https://IDM.example.com"],
)
def test_csrf__any_other_origin_is_refused(origin: str | None) -> None:
    guard = CsrfGuard(ORIGIN)
    assert not guard.allows(ALICE, guard.token(ALICE), origin)


@pytest.mark.parametrize("token", [None, "", "x", "é"])
def test_csrf__missing_or_bad_token_is_refused(token: str | None) -> None:
    assert not CsrfGuard(ORIGIN).allows(ALICE, token, ORIGIN)


def test_csrf__no_binding_is_refused() -> None:
    guard = CsrfGuard(ORIGIN)
    assert not guard.allows(None, guard.token(ALICE), ORIGIN)


def test_csrf__repr_shows_no_key() -> None:
    guard = CsrfGuard(ORIGIN)
    assert repr(guard) == f"CsrfGuard(origin={ORIGIN!r})"


def test_csrf__browser_ids_are_fresh() -> None:
    assert new_browser_id() != new_browser_id()
    assert len(new_browser_id()) >= 43
