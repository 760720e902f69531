"""Every error the server core can raise, each carrying its wire code and HTTP status.

The HTTP layer (``idmd/https/errors.py``) is the only place that turns these into responses;
the core never imports anything HTTP. Messages are written for the person at the CLI and never
contain a secret (a password, a code, a token).

``HermitError``, ``InvalidRequest`` and ``InvalidValue`` are ``hermit_common.errors``'s: the
host daemons raise them too and never import idmd.

Hierarchy::

    HermitError                        (hermit_common.errors)
    ├── InvalidRequest            400  (hermit_common.errors) malformed input, or a broken rule
    │   ├── InvalidName           400  a name that may not be stored
    │   ├── InvalidAttribute      400  an attribute the schema does not know
    │   ├── InvalidValue          400  (hermit_common.errors) a value of the wrong syntax
    │   ├── SchemaViolation       400  a class's must/may rules are broken
    │   ├── InvalidSshKey         400  garbage or a private key
    │   ├── ReservedGid           400  a gidnumber inside a reserved range
    │   ├── MalformedJson         400
    │   ├── UnindexedFilter       400  a filter that would need a full scan
    │   └── PasswordRejected      400  (under InvalidValue) the password policy said no
    ├── InvalidCredentialUpdate   400  an unknown, finished or idle credential update session
    ├── InvalidAuthState          400  a step without, or with a foreign, auth session
    ├── Unauthenticated           401  no, or a bad, bearer token
    │   ├── TokenExpired          401
    │   └── TokenRevoked          401
    ├── InvalidCredentials        401  a wrong password
    │   └── InvalidResetToken     401  unknown, used or expired
    ├── AccessDenied              403  the access profiles do not allow this
    │   ├── ReadOnlySession       403  a write outside the privilege window or read-only
    │   ├── MfaRequired           403  the account policy asks for more than it has
    │   └── AccountExpired        403  outside valid_from / expire_at
    ├── NotFound                  404
    ├── Conflict                  409  a name, spn or gidnumber already taken
    ├── BodyTooLarge              413
    ├── CredentialLocked          429  too many failures on one credential (Retry-After)
    └── Unavailable               503
"""

from __future__ import annotations

from hermit_common.errors import HermitError, InvalidRequest, InvalidValue


class InvalidName(InvalidRequest):
    code = "invalid_name"


class InvalidAttribute(InvalidRequest):
    code = "invalid_attribute"


class SchemaViolation(InvalidRequest):
    code = "schema_violation"


class InvalidSshKey(InvalidRequest):
    code = "invalid_ssh_key"


class ReservedGid(InvalidRequest):
    code = "reserved_gid"


class MalformedJson(InvalidRequest):
    code = "malformed_json"


class UnindexedFilter(InvalidRequest):
    code = "unindexed_filter"


class PasswordRejected(InvalidValue):
    """The password policy refused a new password; the detail says what to change."""

    code = "password_rejected"


class InvalidCredentialUpdate(HermitError):
    """A credential update session that is unknown, committed, cancelled or idle too long."""

    code = "invalid_credential_update_session"
    status = 400


class InvalidAuthState(HermitError):
    code = "invalid_auth_state"
    status = 400


class Unauthenticated(HermitError):
    code = "unauthenticated"
    status = 401


class TokenExpired(Unauthenticated):
    code = "token_expired"


class TokenRevoked(Unauthenticated):
    code = "token_revoked"


class InvalidCredentials(HermitError):
    code = "invalid_credentials"
    status = 401


class InvalidResetToken(InvalidCredentials):
    """A reset token that is unknown, used already or expired (all alike)."""

    code = "invalid_reset_token"


class CredentialLocked(HermitError):
    """Too many failed attempts on this credential; the detail says when to try again.

    ``retry_after`` (seconds) also goes into the ``Retry-After`` header (RFC 9110 10.2.3).
    """

    code = "credential_locked"
    status = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class AccessDenied(HermitError):
    code = "access_denied"
    status = 403


class ReadOnlySession(AccessDenied):
    code = "read_only_session"


class MfaRequired(AccessDenied):
    """The account's policy asks for a stronger credential than the account has."""

    code = "mfa_required"


class AccountExpired(AccessDenied):
    code = "account_expired"


class NotFound(HermitError):
    code = "not_found"
    status = 404


class Conflict(HermitError):
    code = "conflict"
    status = 409


class BodyTooLarge(HermitError):
    code = "body_too_large"
    status = 413


class Unavailable(HermitError):
    code = "unavailable"
    status = 503
