"""The root of hermit's errors, shared by the server and the host daemons.

Every error hermit raises on purpose is a ``HermitError`` carrying a wire ``code`` and an HTTP
``status``; ``detail`` is one line for a person and never holds a secret. This module holds
only the classes the host daemons raise too; the server's own (``idmd/errors.py``) and the
host daemons' (``unixd/resolver/errors.py``, ``unixd/proto/errors.py``) subclass them.

Hierarchy (the rest of it is in ``idmd/errors.py``)::

    HermitError                   500
    └── InvalidRequest            400  the input is malformed or breaks a rule
        └── InvalidValue          400  a value of the wrong syntax

``describe`` turns a trio exception group into one log line, for the tasks whose failures
must be logged and survived rather than raised.
"""

from __future__ import annotations


class HermitError(Exception):
    """The root of hermit's errors. ``code`` is the wire name, ``status`` the HTTP status."""

    code = "internal_error"
    status = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequest(HermitError):
    code = "invalid_request"
    status = 400


class InvalidValue(InvalidRequest):
    code = "invalid_value"


def describe(group: BaseExceptionGroup[Exception]) -> str:
    """One line for the log: each failure's type and its own message (a ``HermitError``'s
    detail), never more; the tracebacks stay out of a warning that is not a bug."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        exc = pending.pop()
        if isinstance(exc, BaseExceptionGroup):
            pending.extend(exc.exceptions)
        else:
            leaves.append(exc)
    return "; ".join(_one(exc) for exc in leaves)


def _one(exc: BaseException) -> str:
    message = getattr(exc, "detail", None) or str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
