"""What can go wrong between hermit-unixd and idmd, each error named by what it causes.

The provider (``unixd.resolver.provider``) translates every httpx exception and every HTTP
error status into one of these, once, at its boundary; the resolver then acts on the class
alone and never looks at an HTTP status (STYLE.md "Error types": provider errors are named by
what they cause).

Hierarchy (under ``hermit_common.errors.HermitError``)::

    ProviderError                  idmd answered something unixd cannot use (a bug somewhere)
    ├── GoOffline                  transport error, timeout or 5xx: answer from the cache now
    ├── Reauthenticate             401 on a read: the token is gone; log in again, retry once
    ├── EntryGone                  404: idmd has no such POSIX entry; purge it from the cache
    ├── CredentialsRefused         401 invalid_credentials on /v1/unix/auth: wrong password
    ├── AccountOutsideValidity     403 account_expired on /v1/unix/auth: right password, but
    │                              the account is expired or not yet valid
    ├── SecondFactorRequired       403 mfa_required on /v1/unix/auth: the account has a unix
    │                              TOTP and no code was sent (unixd's view was stale)
    └── CredentialLocked           429 credential_locked on /v1/unix/auth: too many failures;
                                   nothing was checked, try later (never the cache instead)

"Unavailable" (``GoOffline``) is never turned into "not found" (``EntryGone``) or "empty".
Messages never hold a password or a token.
"""

from __future__ import annotations

from hermit_common.errors import HermitError


class ProviderError(HermitError):
    code = "internal_error"


class GoOffline(ProviderError):
    code = "offline"


class Reauthenticate(ProviderError):
    code = "reauthenticate"


class EntryGone(ProviderError):
    code = "not_found"


class CredentialsRefused(ProviderError):
    code = "invalid_credentials"


class AccountOutsideValidity(ProviderError):
    code = "account_expired"


class SecondFactorRequired(ProviderError):
    code = "mfa_required"


class CredentialLocked(ProviderError):
    code = "credential_locked"
