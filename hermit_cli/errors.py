"""Every error the ``hermit`` CLI reports, each with the code and exit status it is shown with.

``main.py`` is the only place that turns these into the one stderr line
``hermit: <detail> (<code>)`` and an exit status; nothing else prints errors. The CLI imports
nothing of the server, so these are its own classes, not ``idmd.errors``.

Hierarchy::

    HermitError                    exit 1
    ├── ApiError                   exit 1  the server answered with an error (code from the wire)
    ├── TransportError             exit 1  no answer: connection refused, TLS failure, timeout
    ├── LoginError                 exit 1  the stepped login did not end in a token
    ├── NotLoggedIn                exit 1  no stored token for this url and name
    └── UsageError                 exit 2  the command line or environment is wrong

Rule: a ``detail`` never contains a secret (a password or a token).
"""

from __future__ import annotations

# Exit statuses, as in most Unix tools (argparse itself exits 2 on a usage error).
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class HermitError(Exception):
    """The root of the CLI's errors: ``code`` names the failure, ``detail`` explains it."""

    code = "error"
    exit_status = EXIT_FAILURE

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ApiError(HermitError):
    """The server answered ``{"error": CODE, "detail": TEXT}`` with HTTP ``status``."""

    def __init__(self, code: str, detail: str, status: int) -> None:
        super().__init__(detail)
        self.code = code
        self.status = status


class TransportError(HermitError):
    """The request got no usable answer; ``code`` says what kind of failure it was."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class LoginError(HermitError):
    code = "login_failed"


class NotLoggedIn(HermitError):
    code = "not_logged_in"


class UsageError(HermitError):
    code = "usage"
    exit_status = EXIT_USAGE
