"""hermit-idmd: the TLS-only identity server.

Layering, from the bottom up (each layer imports only the ones below it):

- ``be/``        apsw SQLite as a durable key-value store: entries by id, id lists,
                 index tables, the entry cache. Knows nothing of the schema.
- ``entry``, ``value``, ``schema``, ``filter``
                 what an entry is, attribute syntaxes, classes, the filter language.
- ``plugins/``   one invariant each (names, uniqueness, referential integrity, memberof, gids,
                 the builtin entries' protection, privileged accounts).
- ``access/``    pure decision functions over access control profiles.
- ``server/``    read and write transactions that run the plugins and the access checks.
- ``idm/``       accounts, POSIX, SSH keys, credentials, the auth session, bearer tokens.
- ``https/``     the REST API (Starlette on hypercorn's trio worker) and its one ``errors.py``.
- ``backup/``    backup files, consistent snapshots, checked restores, scheduled backups.
- ``admin_socket``, ``main``   the root-only admin socket and the ``hermit-idmd`` command.
"""
