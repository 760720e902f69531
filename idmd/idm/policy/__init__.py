"""The rules an account is held to: its groups' account policy and the password policy.

- ``account``: the strictest of what an account's groups ask (minimum credential, session and
  privilege lifetimes, minimum password length), read with the server's own rights.
- ``password``: whether a person may set this password on this account (NIST SP 800-63B).
- ``badlist``: the common passwords no account may set, kept on the ``system_config`` entry.
"""
