"""hermit-unixd's resolver: the cache, the online/offline state machine and the providers.

Only ``cache`` exists so far: the persistent store the resolver answers from, online and
offline.
"""
