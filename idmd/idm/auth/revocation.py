"""Ending an account's sessions when its password is reset (issue 9, finding 13).

A password reset, a committed credential update and ``recover-account`` answer a credential
that may be in someone else's hands; a session that someone signed in with the old credential
must not outlive it. This module removes the session records (``auth_session``; with
``api_tokens`` the ``api_token`` records too) of an account inside the caller's write
transaction, so the change and the end of the sessions commit together. It does not decide
when to call it (``Idm``, ``credentials.updates`` and ``directory.accounts`` do) and never
sees a token.

Rules (docs/authentication.md "Sessions after a password reset"):
- Every session ends but ``keep``: the owner's own session that made the change (an admin's
  session is not on the account, so nothing of the account is kept then).
- There is no opt-out: a session worth keeping signs in again with the new credential, and a
  switch to keep them all would keep the intruder's too.
- API tokens are credentials of their own (made, listed and destroyed one by one): a password
  reset leaves them; ``recover-account`` ends them as well, for an account that may be lost.
- The records are removed as ``INTERNAL``: ending them is the server's consequence of a change
  the caller was allowed to make, not a right of the caller's.
- The count of what ended is returned for the answer (``sessions_ended``).
"""

from __future__ import annotations

from idmd.idm.auth.tokens import SessionRecord
from idmd.server import WriteTxn
from idmd.server.identity import INTERNAL
from idmd.server.mods import Remove

SESSION_ATTR = "auth_session"
API_TOKEN_ATTR = "api_token"


def end_sessions(
    txn: WriteTxn,
    account_uuid: str,
    *,
    now: float,
    keep: str | None = None,
    api_tokens: bool = False,
) -> int:
    """Remove every session record of the account except the session ``keep``; how many
    live ones ended (records already over, or unreadable, go too but do not count).

    With ``api_tokens`` its API token records go too (and count). An account that is gone
    has nothing to end (0).
    """
    entry = txn.get(account_uuid)
    if entry is None:
        return 0
    attrs = (SESSION_ATTR, API_TOKEN_ATTR) if api_tokens else (SESSION_ATTR,)
    doomed: list[Remove] = []
    live = 0
    for attr in attrs:
        for value in entry.get(attr):
            # An API token's record reads as a session record too (apitokens.py).
            record = SessionRecord.decode(value)
            if attr == SESSION_ATTR and record is not None and record.id == keep:
                continue
            doomed.append(Remove(attr, value))
            live += record is not None and now < record.expires_at
    if doomed:
        txn.modify(INTERNAL, account_uuid, doomed)
    return live
