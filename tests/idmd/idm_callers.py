"""Callers for tests that drive ``Idm`` directly, with no web layer: a live login session of
any account (``caller``), idm_admin's (``admin``), an entry as stored (``stored``), and a
passkey enrolled the way its owner would (``enrol_passkey``)."""

from __future__ import annotations

from idmd.entry import Entry
from idmd.idm import Caller, Idm
from idmd.idm.auth.tokens import TokenClaims, new_session
from idmd.server import builtin
from idmd.server.identity import INTERNAL, account_identity
from idmd.server.mods import Add
from tests.idmd.soft_authenticator import SoftAuthenticator


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


def enrol_passkey(idm: Idm, uuid: str, label: str, authenticator: SoftAuthenticator) -> None:
    """Enrol a passkey of ``authenticator`` for ``uuid`` through its own credential update
    session (begin, the ceremony, commit), as the person would."""
    updates = idm.credential_updates
    session = updates.begin(caller(idm, uuid), uuid)
    options = updates.begin_passkey(session, label)
    updates.finish_passkey(session, authenticator.create(options))
    updates.commit(session)
