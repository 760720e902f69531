"""hermit-unixd's socket protocols as sans-IO code: limits, errors and the typed messages of
the client socket (``messages``) and of the task socket (``tasks``).

This package does no I/O and imports nothing beyond the standard library and
``hermit_common``'s stdlib-only modules (``framing``, ``errors``), never idmd, so a client
such as ``hermit-unix`` can use it without trio or the server. The framing itself is
``hermit_common.framing``: the admin socket and unixd's sockets share one implementation.
The wire contract is docs/protocol.md.
"""
