"""One password login through unixd's dispatch, as pam_hermit would make it, for the attacks
on unixd's password checks (tests/security/test_unixd_auth_*)."""

from __future__ import annotations

from tests.unixd.resolver_env import Env
from unixd.proto import messages as m
from unixd.resolver.dispatch import Peer, answer


async def login(env: Env, name: str, password: str, uid: int = 0,
                service: str = "login") -> dict[str, object]:
    """``pam_auth_init`` then, if a password is asked, ``pam_auth_step`` as peer ``uid``; the
    last ``next`` prompt unixd answered (success, denied, unknown, ...)."""
    peer = Peer(uid=uid)
    init = (await answer(env.resolver, m.PamAuthInit(name, service), peer)).to_json()
    if init["next"] != {"kind": "password", "prompt": "Password: ", "echo": False}:
        return init["next"]  # type: ignore[return-value]
    step = await answer(env.resolver, m.PamAuthStep(str(init["session"]), password), peer)
    return step.to_json()["next"]  # type: ignore[return-value]
