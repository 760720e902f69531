"""What an account proves itself with, and changing it: passwords, TOTPs, backup codes.

- ``passwords`` (Argon2id) and ``hashimport`` (foreign hashes): hashing and verifying.
- ``totp``: TOTP records, the replay rule, backup codes; pure, the callers store the records.
- ``resettoken``: the one-time reset codes and their records.
- ``staging``: the pure core of a credential update session: what it has staged, the rules of
  commit, the modifications commit writes, the bounded in-memory store of sessions.
- ``updates``: the I/O around ``staging``: who may begin, rechecking the right at every step,
  vetting and hashing off the transaction, reset tokens, the commit's write transaction.

Which passwords are allowed is ``idm.policy``'s; logging in with them is ``idm.auth``'s.
"""
