"""The storage backend: apsw SQLite used as a durable key-value store, id lists, index tables
and the entry cache.

It knows nothing of the schema: callers say which attributes are indexed how, and how an entry
is encoded. See ``kv`` (the store), ``idl`` (id lists), ``backend`` (entries, indexes, cache).
"""
