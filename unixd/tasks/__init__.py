"""hermit-unixd-tasks: the root helper that creates home directories and feeds /etc files to unixd.

``main`` (the console script) checks it runs as root and reads unixd.toml; ``link`` holds the
one connection to unixd's task socket; ``messages`` parses and builds its frames; ``home``
creates home directories and aliases; ``identities`` reads and watches /etc/passwd and
/etc/group (never /etc/shadow: local passwords are pam_unix's). The wire contract is
docs/protocol.md, "Task socket"; operating it is docs/host.md.
"""
