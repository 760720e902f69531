"""The query server: read and write transactions over the entry database.

Public surface (notes/storage_api.md): ``QueryServer``, ``ReadTxn``, ``WriteTxn``,
``WriteInProgress``; identities in ``identity``, modifications in ``mods``, the builtin
entries' fixed uuids in ``builtin``; ``verify`` checks every stored invariant; ``profiles``
is the cache of parsed access control profiles a server hands its transactions.
"""

from __future__ import annotations

from idmd.server.query import QueryServer, WriteInProgress
from idmd.server.txn import ReadTxn, WriteTxn

__all__ = ["QueryServer", "ReadTxn", "WriteInProgress", "WriteTxn"]
