"""Who the caller is: logging in, bearer tokens, their session records, failure delays.

- ``flow``: the stepped login flow as a state machine without I/O (pending sessions, what each
  step leads to).
- ``login``: the I/O around ``flow``: loads accounts, checks each credential behind the
  softlocks, writes and ends session records, turns a bearer token into an ``Identity``.
- ``tokens``: signing and checking the ES256 tokens, the session record's stored form.
- ``softlock``: the in-memory failure counters and one attempt at a time per credential.
- ``apitokens``: service accounts' API token records; ``revocation``: ending an account's
  sessions in the caller's write transaction.

Judging a credential's value (hashes, TOTP codes) is ``idm.credentials``'s.
"""
