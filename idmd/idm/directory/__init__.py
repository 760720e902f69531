"""The entries behind ``/v1/person``, ``/v1/service_account`` and ``/v1/group``.

- ``accounts`` and ``groups``: the operations, synchronous, inside the caller's transaction
  as the caller's ``Identity``.
- ``lookup``: finding the entry a request names and reading it as the caller.
- ``posix`` (the POSIX modifications) and ``sshkeys`` (OpenSSH key lines): pure checks.
- ``views``: the JSON shapes of docs/api.md, built from entries the caller may read (pure).
"""
