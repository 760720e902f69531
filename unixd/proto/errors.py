"""Errors of hermit-unixd's socket protocol: what a peer did wrong, each with its wire code.

A peer's mistake is always a ``PeerProtocolError`` (from ``hermit_common.framing``, shared
with the admin socket), so the server shell has one rule: answer an error frame with
``exc.code`` and close the connection. Our own bugs (building a message that breaks a rule)
are ``ValueError`` or ``TypeError`` and never reach a peer as a protocol error.

Hierarchy (under ``hermit_common.errors.HermitError``)::

    InvalidRequest                       (hermit_common.errors)
    └── PeerProtocolError   protocol_error      (hermit_common.framing) framing, or not JSON
        ├── UnsupportedVersion  unsupported_version  "v" is missing or not 1
        ├── UnknownOp           unknown_op           "op" names nothing unixd answers
        ├── InvalidField        invalid_request      a field missing, unknown, mistyped or
        │                                            out of range
        └── InvalidLookupName   invalid_name         a name that no account can have

Messages name the field, never echo a value that could be a secret (a PAM response).
"""

from __future__ import annotations

from hermit_common.framing import PeerProtocolError


class UnsupportedVersion(PeerProtocolError):
    code = "unsupported_version"


class UnknownOp(PeerProtocolError):
    code = "unknown_op"


class InvalidField(PeerProtocolError):
    code = "invalid_request"


class InvalidLookupName(InvalidField):
    code = "invalid_name"
