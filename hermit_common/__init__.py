"""What the identity server and the host daemons both use: stdlib and trio only.

hermit-unixd, hermit-unixd-tasks and hermit-unix import this package and never idmd.
"""
