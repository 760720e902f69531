"""The idmd provider: hermit-unixd's only HTTPS client, speaking docs/api.md "Unix views".

This module fetches UNIX_USER / UNIX_GROUP views, checks unix passwords and logs in; it does
not cache, decide online or offline, or shape NSS records (the resolver does). Its one job
besides the requests is the error boundary: every httpx exception and error status becomes
one ``unixd.resolver.errors`` class in ``_translated`` (httpx's ``map_httpcore_exceptions``
pattern), with ``raise ... from exc``.

Rules:
- TLS only, with the CA pinned from ``ca_path`` (no system trust store: the site's own CA
  is what identifies its idmd). ``connect_timeout`` bounds connecting, ``request_timeout``
  every read; the caller's deadline (trio time) bounds the whole call.
- Reads use an anonymous token from the stepped flow (DESIGN.md "Protocols": begin, then a
  step with the session header). A 401 on a read means the token expired or was revoked:
  log in once more and retry the request once; a second 401 is a ``ProviderError``.
- With ``token_path`` (unixd.toml) the token is the API token in that file instead, read at
  start (``tokenfile.read_token_file``; a bad file stops unixd from starting). A 401 then
  means the token was destroyed, expired or rotated: the file is read once more and, if it
  holds another token, the request retried once with it; a token idmd still refuses is
  ``GoOffline`` (answers come from the cache, and the next try after the back-off reads the
  file again). There is never an anonymous login in this mode.
- Logins are serialised: concurrent requests that all find the token stale log in once.
- Transport errors, timeouts (ours or httpx's) and 5xx answers mean ``GoOffline``; 404 on a
  view means ``EntryGone``. A password or code sent to ``/v1/unix/auth`` is never logged.

Cancellation: every method may be cancelled; a cancelled request leaves no half-state (the
connection is dropped by httpcore; a login interrupted midway is simply redone).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import httpx
import trio

from hermit_common.errors import HermitError
from unixd.resolver.errors import (
    AccountOutsideValidity,
    CredentialLocked,
    CredentialsRefused,
    EntryGone,
    GoOffline,
    ProviderError,
    Reauthenticate,
    SecondFactorRequired,
)
from unixd.resolver.tokenfile import TokenFileError, read_token_file

log = logging.getLogger(__name__)

JSON = dict[str, Any]

AUTH_SESSION_HEADER = "Hermit-Auth-Session"
# Error codes of docs/api.md that mean "this token no longer works".
_TOKEN_ERRORS = frozenset({"unauthenticated", "token_expired", "token_revoked"})


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Turn httpx's and trio's failures inside the block into provider errors."""
    try:
        yield
    except trio.TooSlowError as exc:
        raise GoOffline(f"{what}: idmd did not answer in time") from exc
    except httpx.TimeoutException as exc:
        raise GoOffline(f"{what}: timed out ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise GoOffline(f"{what}: cannot reach idmd ({type(exc).__name__})") from exc
    except ssl.SSLError as exc:
        raise GoOffline(f"{what}: TLS failed ({exc.reason})") from exc


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) else ""


def _check_status(response: httpx.Response, what: str) -> None:
    """Raise the provider error an HTTP error status means (docs/api.md "Conventions")."""
    status = response.status_code
    if status < 400:
        return
    code = _error_code(response)
    if status >= 500:
        raise GoOffline(f"{what}: idmd answered {status}")
    if status == 404:
        raise EntryGone(f"{what}: idmd has no such entry")
    if status == 401 and code == "invalid_credentials":
        raise CredentialsRefused(f"{what}: wrong name or password")
    if status == 401 or code in _TOKEN_ERRORS:
        raise Reauthenticate(f"{what}: idmd refused the token ({code or status})")
    if status == 403 and code == "account_expired":
        raise AccountOutsideValidity(f"{what}: the account is expired or not yet valid")
    if status == 403 and code == "mfa_required":
        raise SecondFactorRequired(f"{what}: idmd asks for a verification code")
    if status == 429 and code == "credential_locked":
        raise CredentialLocked(f"{what}: too many failed attempts; idmd checked nothing")
    raise ProviderError(f"{what}: idmd answered {status} {code}".rstrip())


def _json_object(response: httpx.Response, what: str) -> JSON:
    try:
        body = response.json()
    except ValueError as exc:
        raise ProviderError(f"{what}: idmd's answer is not JSON") from exc
    if not isinstance(body, dict):
        raise ProviderError(f"{what}: idmd's answer is not a JSON object")
    return body


def _list_of_objects(body: JSON, key: str, what: str) -> list[JSON]:
    items = body.get(key)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ProviderError(f"{what}: idmd's answer lacks a list {key!r}")
    return cast(list[JSON], items)


class CaFileError(HermitError):
    """``ca_path`` cannot be read as a PEM CA certificate."""

    code = "config_error"


def pinned_tls_context(ca_path: Path) -> ssl.SSLContext:
    """A client context trusting only the CA in ``ca_path``. Errors: ``CaFileError``."""
    try:
        context = ssl.create_default_context(cafile=str(ca_path))
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CaFileError(f"{ca_path}: cannot load the CA (ca_path): {reason}") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class IdmProvider:
    """An HTTPS client to idmd at ``uri``.

    Resources: holds an ``httpx.AsyncClient`` (its connection pool) until ``aclose()``.
    """

    def __init__(
        self,
        uri: str,
        *,
        verify: ssl.SSLContext,
        connect_timeout: float,
        request_timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
        token_path: Path | None = None,
    ) -> None:
        """Errors: ``TokenFileError`` when ``token_path`` is given and cannot be used."""
        # Invariant: with ``_token_path``, ``_token`` is never None (the file's token).
        self._token_path = token_path
        initial = read_token_file(token_path) if token_path is not None else None
        self._client = httpx.AsyncClient(
            base_url=uri,
            verify=verify,
            timeout=httpx.Timeout(request_timeout, connect=connect_timeout),
            transport=transport,
            # Connections stay open between lookups; a handful is plenty for one host.
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
        )
        # Invariant: ``_token`` is None or the last token a login returned (or the file held).
        self._token: str | None = initial
        self._login_lock = trio.Lock()

    async def aclose(self) -> None:
        await self._client.aclose()

    # Reads ----------------------------------------------------------------------------------

    async def ping_at(self, deadline: float) -> None:
        """Make sure idmd answers and we hold a token. Errors: ``GoOffline``, ``ProviderError``."""
        with _translated("GET /status"), trio.fail_at(deadline):
            response = await self._client.get("/status")
        _check_status(response, "GET /status")
        if self._token_path is not None:
            # idmd answering is not enough: the token must still be accepted.
            await self._send("GET", "/v1/auth/whoami", deadline)
        elif self._token is None:
            await self._login_at(deadline, stale=None)

    async def user_at(self, key: str | int, deadline: float) -> JSON:
        """UNIX_USER for a name, spn, uuid or uid. Errors: see the module docstring."""
        return await self._get_object(f"/v1/unix/user/{_segment(key)}", deadline)

    async def group_at(self, key: str | int, deadline: float) -> JSON:
        """UNIX_GROUP for a name, spn, uuid or gid."""
        return await self._get_object(f"/v1/unix/group/{_segment(key)}", deadline)

    async def users_at(self, deadline: float) -> list[JSON]:
        body = await self._get_object("/v1/unix/user", deadline)
        return _list_of_objects(body, "users", "GET /v1/unix/user")

    async def groups_at(self, deadline: float) -> list[JSON]:
        body = await self._get_object("/v1/unix/group", deadline)
        return _list_of_objects(body, "groups", "GET /v1/unix/group")

    async def unix_auth_at(
        self, name: str, password: str, deadline: float, code: str | None = None
    ) -> JSON:
        """Check ``password`` (and the TOTP ``code``) of ``name``; the UNIX_USER on success.

        Errors: ``CredentialsRefused``, ``AccountOutsideValidity``, ``SecondFactorRequired``,
        ``CredentialLocked``, ``GoOffline``, ``ProviderError``.
        """
        body = {"name": name, "password": password}
        if code is not None:
            body["totp"] = code
        response = await self._send("POST", "/v1/unix/auth", deadline, json_body=body)
        user = _json_object(response, "POST /v1/unix/auth").get("user")
        if not isinstance(user, dict):
            raise ProviderError("POST /v1/unix/auth: idmd's answer lacks the user")
        return user

    async def _get_object(self, path: str, deadline: float) -> JSON:
        response = await self._send("GET", path, deadline)
        return _json_object(response, f"GET {path}")

    async def _send(
        self, method: str, path: str, deadline: float, json_body: Mapping[str, object] | None = None
    ) -> httpx.Response:
        what = f"{method} {path}"
        for attempt in (1, 2):
            token = self._token
            if token is None:
                token = await self._login_at(deadline, stale=None)
            with _translated(what), trio.fail_at(deadline):
                response = await self._client.request(
                    method, path, json=json_body, headers={"Authorization": f"Bearer {token}"}
                )
            try:
                _check_status(response, what)
            except Reauthenticate:
                if attempt == 2:
                    if self._token_path is not None:
                        raise self._token_refused(what) from None
                    raise ProviderError(f"{what}: idmd refused a fresh token") from None
                log.info("idmd refused our token; logging in again")
                await self._login_at(deadline, stale=token)
                continue
            return response
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    # Login ----------------------------------------------------------------------------------

    async def _login_at(self, deadline: float, *, stale: str | None) -> str:
        """Log in as anonymous unless another task already replaced the ``stale`` token;
        with ``token_path``, read the file again instead (see the module rules)."""
        async with self._login_lock:
            if self._token is not None and self._token != stale:
                return self._token
            if self._token_path is not None:
                return self._reread_token(stale)
            self._token = None
            with _translated("login"), trio.fail_at(deadline):
                begin = await self._client.post("/v1/auth/begin", json={"name": "anonymous"})
                _check_status(begin, "POST /v1/auth/begin")
                session = begin.headers.get(AUTH_SESSION_HEADER)
                if not session:
                    raise ProviderError("POST /v1/auth/begin: no auth session in the answer")
                step = await self._client.post(
                    "/v1/auth/step", json={"method": "anonymous"},
                    headers={AUTH_SESSION_HEADER: session},
                )
                _check_status(step, "POST /v1/auth/step")
            reply = _json_object(step, "POST /v1/auth/step")
            token = reply.get("token")
            if reply.get("state") != "success" or not isinstance(token, str):
                raise ProviderError(f"anonymous login was {reply.get('state')!r}, not success")
            self._token = token
            return token


    def _reread_token(self, stale: str | None) -> str:
        """The token now in ``token_path``, if it is not ``stale``. Errors: ``GoOffline``."""
        assert self._token_path is not None
        try:
            # A few hundred bytes from a local file: not worth a worker thread.
            token = read_token_file(self._token_path)
        except TokenFileError as exc:
            raise GoOffline(f"cannot read the API token again: {exc.detail}") from None
        if token == stale:
            raise self._token_refused("the request")
        log.info("idmd refused our API token; using the new one in %s", self._token_path)
        self._token = token
        return token

    def _token_refused(self, what: str) -> GoOffline:
        return GoOffline(
            f"{what}: idmd refuses the API token in token_path {self._token_path} "
            "(destroyed or expired?); answering from the cache"
        )


def _segment(key: str | int) -> str:
    # Names, spns and uuids are checked printable ASCII already; quoting keeps '@' and any
    # '%' or '?' from changing the path's meaning.
    return quote(str(key), safe="@")
