"""A small typed client of hermit's REST API (docs/api.md): one method per route.

It does not decide anything about login, token storage or output: ``auth.py`` drives the
stepped login, ``tokens.py`` keeps tokens, ``output.py`` prints. It never disables TLS
verification and refuses ``http://`` urls (DESIGN.md: TLS on every connection, always).

Errors: every failure leaves as one of two types — ``ApiError`` (the server answered with
``{"error", "detail"}``; carries ``code``, ``detail`` and ``status``) or ``TransportError``
(no usable answer). httpx exceptions are translated in one place, ``_map_httpx_errors``.

Wire format: JSON objects both ways; ``Authorization: Bearer TOKEN`` on every ``/v1/`` route
but ``auth/begin`` and ``auth/step``; the auth session travels in the ``Hermit-Auth-Session``
header.
"""

from __future__ import annotations

import contextlib
import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from hermit_cli.errors import ApiError, TransportError, UsageError
from hermit_common.secret import Secret

JsonObject = dict[str, Any]

AUTH_SESSION_HEADER = "Hermit-Auth-Session"

# A login step may run Argon2id on a small server (a Raspberry Pi, DESIGN.md); 30 s leaves
# room for that, while an unreachable host is reported after 10 s, as ssh's ConnectTimeout
# users expect rather than the kernel's minutes.
REQUEST_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10.0


def validate_url(url: str) -> str:
    """Return ``url`` without a trailing slash; refuse anything but ``https://host[:port]``.

    Errors: ``UsageError`` for another scheme (``http://`` is refused, never downgraded),
    a missing host, or a path, query or fragment.
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "https":
        raise UsageError(f"refusing url {url!r}: hermit speaks only https://")
    if not parts.hostname:
        raise UsageError(f"url {url!r} has no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UsageError(f"url {url!r} must be just https://host[:port]")
    return f"https://{parts.netloc.lower()}"


def make_ssl_context(ca: Path | None) -> ssl.SSLContext:
    """Verify the server against ``ca`` alone (pinned) or, without one, the system's CAs.

    Errors: ``UsageError`` when the CA file cannot be read or holds no certificate.
    """
    if ca is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(ca))
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot use CA file {ca}: {exc.strerror or exc}") from exc


@dataclass(frozen=True)
class AuthAnswer:
    """One answer of ``/v1/auth/begin`` or ``/v1/auth/step``: its body and auth session id."""

    body: JsonObject
    session: str | None


def _segment(value: str) -> str:
    # Names, labels and spns go into the path as one segment each; "/" or "@" must not
    # change the route.
    return quote(value, safe="")


@contextlib.contextmanager
def _map_httpx_errors(url: str) -> Iterator[None]:
    """Turn httpx's exceptions into ``TransportError`` with a one-line, secret-free detail."""
    try:
        yield
    except httpx.ConnectError as exc:
        reason = str(exc) or type(exc).__name__
        code = "tls_error" if "CERTIFICATE" in reason.upper() or "SSL" in reason else (
            "connection_failed"
        )
        raise TransportError(code, f"cannot connect to {url}: {reason}") from exc
    except httpx.TimeoutException as exc:
        raise TransportError("timeout", f"{url} did not answer in time") from exc
    except httpx.HTTPError as exc:
        raise TransportError("connection_failed", f"talking to {url}: {exc}") from exc


class ApiClient:
    """hermit's REST API over one HTTPS connection pool.

    Resources: holds an ``httpx.Client``; use it as a context manager or call ``close()``.
    """

    def __init__(
        self,
        url: str,
        *,
        ca: Path | None = None,
        token: Secret | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = validate_url(url)
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        self._http = httpx.Client(
            base_url=self.url,
            headers=headers,
            verify=make_ssl_context(ca),
            timeout=httpx.Timeout(REQUEST_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            transport=transport,
            # Proxies and CA bundles from the environment are not consulted: the TLS trust is
            # exactly --ca (or the system store), and nothing sits between us and idmd unseen.
            trust_env=False,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(
        self,
        method: str,
        path: str,
        body: JsonObject | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        with _map_httpx_errors(self.url):
            response = self._http.request(method, path, json=body, headers=headers)
        if response.status_code >= 400:
            raise _api_error(response)
        return response

    def _call(self, method: str, path: str, body: JsonObject | None = None) -> JsonObject:
        return _json_object(self._send(method, path, body))

    # Authentication
    def auth_begin(self, name: str, *, read_only: bool = False) -> AuthAnswer:
        response = self._send("POST", "/v1/auth/begin", {"name": name, "read_only": read_only})
        return AuthAnswer(_json_object(response), response.headers.get(AUTH_SESSION_HEADER))

    def auth_step(self, session: str | None, step: JsonObject) -> AuthAnswer:
        headers = {AUTH_SESSION_HEADER: session} if session is not None else None
        response = self._send("POST", "/v1/auth/step", step, headers)
        return AuthAnswer(
            _json_object(response), response.headers.get(AUTH_SESSION_HEADER, session)
        )

    def auth_reauth(self) -> AuthAnswer:
        """Begin re-authenticating the bearer's own session (``POST /v1/auth/reauth``)."""
        response = self._send("POST", "/v1/auth/reauth", {})
        return AuthAnswer(_json_object(response), response.headers.get(AUTH_SESSION_HEADER))

    def whoami(self) -> JsonObject:
        return self._call("GET", "/v1/auth/whoami")

    def list_sessions(self) -> list[JsonObject]:
        return _json_list(self._call("GET", "/v1/auth/sessions"), "sessions")

    def destroy_session(self, session_id: str) -> JsonObject:
        return self._call("DELETE", f"/v1/auth/sessions/{_segment(session_id)}")

    def unlock_credentials(self, name: str) -> JsonObject:
        return self._call("POST", f"/v1/person/{_segment(name)}/credential/unlock", {})

    def logout(self) -> JsonObject:
        return self._call("POST", "/v1/auth/logout", {})

    # People and service accounts share their routes under two prefixes.
    def list_accounts(self, kind: str) -> list[JsonObject]:
        key = "persons" if kind == "person" else "service_accounts"
        return _json_list(self._call("GET", f"/v1/{kind}"), key)

    def create_person(self, name: str, displayname: str, mail: list[str] | None) -> JsonObject:
        body: JsonObject = {"name": name, "displayname": displayname}
        if mail:
            body["mail"] = mail
        return self._call("POST", "/v1/person", body)

    def create_service_account(self, name: str, displayname: str, managed_by: str) -> JsonObject:
        body = {"name": name, "displayname": displayname, "managed_by": managed_by}
        return self._call("POST", "/v1/service_account", body)

    def get_account(self, kind: str, name: str) -> JsonObject:
        return self._call("GET", f"/v1/{kind}/{_segment(name)}")

    def update_account(self, kind: str, name: str, changes: JsonObject) -> JsonObject:
        return self._call("PATCH", f"/v1/{kind}/{_segment(name)}", changes)

    def delete_account(self, kind: str, name: str) -> JsonObject:
        return self._call("DELETE", f"/v1/{kind}/{_segment(name)}")

    def enable_account_posix(
        self, kind: str, name: str, gidnumber: int | None, loginshell: str | None
    ) -> JsonObject:
        body: JsonObject = {}
        if gidnumber is not None:
            body["gidnumber"] = gidnumber
        if loginshell is not None:
            body["loginshell"] = loginshell
        return self._call("PUT", f"/v1/{kind}/{_segment(name)}/posix", body)

    def set_password(self, kind: str, name: str, password: Secret) -> JsonObject:
        body = {"password": password.reveal()}
        return self._call("PUT", f"/v1/{kind}/{_segment(name)}/password", body)

    def set_unix_password(self, kind: str, name: str, password: Secret) -> JsonObject:
        body = {"password": password.reveal()}
        return self._call("PUT", f"/v1/{kind}/{_segment(name)}/unix_password", body)

    def import_password_hash(
        self, kind: str, name: str, password_hash: Secret, *, unix: bool = False
    ) -> JsonObject:
        """Store a hash another system made (docs/password-policy.md "Imported hashes")."""
        route = "unix_password" if unix else "password"
        body = {"password_hash": password_hash.reveal()}
        return self._call("PUT", f"/v1/{kind}/{_segment(name)}/{route}", body)

    def list_ssh_keys(self, kind: str, name: str) -> list[JsonObject]:
        return _json_list(self._call("GET", f"/v1/{kind}/{_segment(name)}/ssh_keys"), "ssh_keys")

    def put_ssh_key(self, kind: str, name: str, label: str, key: str) -> JsonObject:
        path = f"/v1/{kind}/{_segment(name)}/ssh_keys/{_segment(label)}"
        return self._call("PUT", path, {"key": key})

    def delete_ssh_key(self, kind: str, name: str, label: str) -> JsonObject:
        return self._call("DELETE", f"/v1/{kind}/{_segment(name)}/ssh_keys/{_segment(label)}")

    def generate_password(self, name: str) -> JsonObject:
        return self._call("POST", f"/v1/service_account/{_segment(name)}/generate_password", {})

    # API tokens of service accounts
    def create_api_token(
        self, name: str, label: str, *, read_write: bool, expires_at: str | None
    ) -> JsonObject:
        body: JsonObject = {
            "label": label,
            "scope": "read_write" if read_write else "read_only",
            "expires_at": expires_at,
        }
        return self._call("POST", f"/v1/service_account/{_segment(name)}/api_token", body)

    def list_api_tokens(self, name: str) -> list[JsonObject]:
        body = self._call("GET", f"/v1/service_account/{_segment(name)}/api_token")
        return _json_list(body, "api_tokens")

    def destroy_api_token(self, name: str, token_id: str) -> JsonObject:
        path = f"/v1/service_account/{_segment(name)}/api_token/{_segment(token_id)}"
        return self._call("DELETE", path)

    # Groups
    def list_groups(self) -> list[JsonObject]:
        return _json_list(self._call("GET", "/v1/group"), "groups")

    def create_group(self, name: str, description: str | None) -> JsonObject:
        body: JsonObject = {"name": name}
        if description is not None:
            body["description"] = description
        return self._call("POST", "/v1/group", body)

    def get_group(self, name: str) -> JsonObject:
        return self._call("GET", f"/v1/group/{_segment(name)}")

    def delete_group(self, name: str) -> JsonObject:
        return self._call("DELETE", f"/v1/group/{_segment(name)}")

    def add_members(self, group: str, members: list[str]) -> JsonObject:
        return self._call("POST", f"/v1/group/{_segment(group)}/members/add", {"members": members})

    def remove_members(self, group: str, members: list[str]) -> JsonObject:
        path = f"/v1/group/{_segment(group)}/members/remove"
        return self._call("POST", path, {"members": members})

    def enable_group_posix(self, group: str, gidnumber: int | None) -> JsonObject:
        body: JsonObject = {} if gidnumber is None else {"gidnumber": gidnumber}
        return self._call("PUT", f"/v1/group/{_segment(group)}/posix", body)

    def set_group_policy(self, group: str, settings: JsonObject) -> JsonObject:
        """Set (a value) or clear (``None``) account policy settings of ``group``."""
        return self._call("PUT", f"/v1/group/{_segment(group)}/policy", settings)

    # The password badlist (docs/api.md "System")
    def show_badlist(self) -> JsonObject:
        return self._call("GET", "/v1/system/pw_badlist")

    def change_badlist(self, words: list[str], *, add: bool) -> JsonObject:
        path = "/v1/system/pw_badlist" if add else "/v1/system/pw_badlist/remove"
        return self._call("POST", path, {"words": words})

    # Credential update sessions and reset tokens (docs/api.md "Credential updates"); the
    # session id travels in the body and is held as a Secret (it is the session's capability).
    def begin_credential_update(self, name: str) -> JsonObject:
        return self._call("POST", f"/v1/person/{_segment(name)}/credential/update", {})

    def begin_credential_update_with_token(self, token: Secret) -> JsonObject:
        return self._call("POST", "/v1/credential/update/begin", {"reset_token": token.reveal()})

    def credential_update(
        self, step: str, session: Secret, body: JsonObject | None = None
    ) -> JsonObject:
        """One call inside a session: ``status``, ``password``, ``unix_password``,
        ``totp/begin``, ``totp/confirm``, ``totp/remove``, ``backup_codes``, ``commit``,
        ``cancel``."""
        payload = {"session": session.reveal(), **(body or {})}
        return self._call("POST", f"/v1/credential/update/{step}", payload)

    def list_passkeys(self, name: str) -> list[JsonObject]:
        body = self._call("GET", f"/v1/person/{_segment(name)}/credential/passkeys")
        return _json_list(body, "passkeys")

    def create_reset_token(self, name: str, ttl: int | None) -> JsonObject:
        body: JsonObject = {} if ttl is None else {"ttl": ttl}
        return self._call("POST", f"/v1/person/{_segment(name)}/credential/reset_token", body)


def _json_object(response: httpx.Response) -> JsonObject:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TransportError(
            "bad_response", f"the server answered HTTP {response.status_code} without JSON"
        ) from exc
    if not isinstance(body, dict):
        raise TransportError("bad_response", "the server answered JSON that is not an object")
    return body


def _json_list(body: JsonObject, key: str) -> list[JsonObject]:
    items = body.get(key)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise TransportError("bad_response", f"the server's answer has no list {key!r}")
    return items


def _api_error(response: httpx.Response) -> ApiError:
    """Read ``{"error", "detail"}``; a body without them still names the HTTP status."""
    fallback = ApiError(
        f"http_{response.status_code}",
        f"the server answered HTTP {response.status_code} {response.reason_phrase}".rstrip(),
        response.status_code,
    )
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return fallback
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return fallback
    detail = body.get("detail")
    if not isinstance(detail, str) or not detail:
        detail = fallback.detail
    return ApiError(body["error"], detail, response.status_code)
