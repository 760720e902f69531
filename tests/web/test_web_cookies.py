"""The web door's cookies: names and attributes as DESIGN.md and docs/web.md say."""

from __future__ import annotations

import pytest

from idmd import limits
from idmd.web import cookies


def test_cookies__session_is_designs() -> None:
    assert cookies.set_cookie(cookies.SESSION, "T", max_age=60) == (
        "__Host-hermit-session=T; Secure; HttpOnly; Path=/; SameSite=Lax; Max-Age=60"
    )


@pytest.mark.parametrize("name", [cookies.BROWSER, cookies.LOGIN, cookies.UPDATE])
def test_cookies__the_others_are_strict_host_cookies(name: str) -> None:
    value = cookies.set_cookie(name, "v")
    assert name.startswith("__Host-")
    assert "Secure; HttpOnly; Path=/; SameSite=Strict" in value
    assert "Domain" not in value


def test_cookies__login_lives_as_long_as_an_auth_session() -> None:
    assert cookies.set_cookie(cookies.LOGIN, "v").endswith(
        f"Max-Age={limits.AUTH_SESSION_TTL_SECONDS}"
    )


def test_cookies__clear_keeps_the_attributes() -> None:
    assert cookies.clear_cookie(cookies.SESSION) == (
        "__Host-hermit-session=; Secure; HttpOnly; Path=/; SameSite=Lax; Max-Age=0"
    )
