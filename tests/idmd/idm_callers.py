"""Callers for tests that drive ``Idm`` directly, with no web layer: a live login session of
any account (``caller``), idm_admin's (``admin``), and an entry as stored (``stored``)."""

from __future__ import annotations

from idmd.entry import Entry
from idmd.idm import Caller, Idm
from idmd.idm.auth.tokens import TokenClaims, new_session
from idmd.server import builtin
from idmd.server.identity import INTERNAL, account_identity
from idmd.server.mods import Add


def caller(idm: Idm, uuid: str, *, read_only: bool = False) -> Caller:
    """A caller with a live login session of ``uuid`` (a credential update asks the session
    again at every step), privileged throughout."""
    record = new_session(read_only=read_only, now=idm.clock.now())
    with idm.server.write() as txn:
        txn.modify(INTERNAL, uuid, [Add("auth_session", record.encode())])
    claims = TokenClaims(uuid, record.id, record.scope, record.issued_at, record.expires_at)
    return Caller(account_identity(uuid, read_only=read_only), claims, "x", "x@example.com")


def admin(idm: Idm) -> Caller:
    return caller(idm, builtin.UUID_IDM_ADMIN)


def stored(idm: Idm, uuid: str) -> Entry:
    with idm.server.read() as txn:
        entry = txn.get(uuid)
    assert entry is not None
    return entry
