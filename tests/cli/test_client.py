"""The REST client: url rules, error translation, path quoting and the bearer token."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from hermit_cli.client import ApiClient, make_ssl_context, validate_url
from hermit_cli.errors import ApiError, TransportError, UsageError
from hermit_common.secret import Secret
from tests.cli.scripted_server import URL, ScriptedServer


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://idm.example.com:8443", "https://idm.example.com:8443"),
        ("https://IDM.example.com/", "https://idm.example.com"),
        ("  https://127.0.0.1:8443 ", "https://127.0.0.1:8443"),
    ],
)
def test_client__url_accepted(url: str, expected: str) -> None:
    assert validate_url(url) == expected


@pytest.mark.parametrize(
    "url",
    ["http://idm.example.com", "idm.example.com:8443", "ftp://x", "https://", "https://h/v1",
     "https://h?x=1"],
)
def test_client__url_refused(url: str) -> None:
    with pytest.raises(UsageError):
        validate_url(url)


def test_client__missing_ca_file_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot use CA file"):
        make_ssl_context(tmp_path / "missing.pem")


def test_client__ca_file_without_certificate_is_usage_error(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not a certificate\n")
    with pytest.raises(UsageError, match="cannot use CA file"):
        make_ssl_context(ca)


def test_client__verification_is_always_on() -> None:
    context = make_ssl_context(None)
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)


def test_client__error_body_becomes_api_error(server: ScriptedServer) -> None:
    server.expect("GET", "/v1/person/bob", {"error": "not_found", "detail": "no bob"},
                  status=404)
    with ApiClient(URL, token=Secret("t"), transport=server.transport()) as client, \
            pytest.raises(ApiError) as err:
        client.get_account("person", "bob")
    assert (err.value.code, err.value.detail, err.value.status) == ("not_found", "no bob", 404)


def test_client__error_without_json_names_the_status(server: ScriptedServer) -> None:
    server.expect("GET", "/v1/group", b"<html>bad gateway</html>", status=502)
    with ApiClient(URL, token=Secret("t"), transport=server.transport()) as client, \
            pytest.raises(ApiError) as err:
        client.list_groups()
    assert (err.value.code, err.value.status) == ("http_502", 502)


def test_client__success_without_json_is_bad_response(server: ScriptedServer) -> None:
    server.expect("GET", "/v1/group", b"plain text")
    with ApiClient(URL, token=Secret("t"), transport=server.transport()) as client, \
            pytest.raises(TransportError) as err:
        client.list_groups()
    assert err.value.code == "bad_response"


def test_client__list_without_its_key_is_bad_response(server: ScriptedServer) -> None:
    server.expect("GET", "/v1/group", {"persons": []})
    with ApiClient(URL, token=Secret("t"), transport=server.transport()) as client, \
            pytest.raises(TransportError, match="no list 'groups'"):
        client.list_groups()


def test_client__sends_bearer_and_quotes_segments(server: ScriptedServer) -> None:
    server.expect("PUT", "/v1/person/alice%40example.com/ssh_keys/a%2Fb%20c",
                  {"changed": True, "ssh_key": {}})
    with ApiClient(URL, token=Secret("tok"), transport=server.transport()) as client:
        client.put_ssh_key("person", "alice@example.com", "a/b c", "ssh-ed25519 AAAA")
    assert server.seen[0].headers["authorization"] == "Bearer tok"
    assert server.sent_json() == {"key": "ssh-ed25519 AAAA"}


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection_failed"),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
         "tls_error"),
        (httpx.ReadTimeout("timed out"), "timeout"),
        (httpx.RemoteProtocolError("Server disconnected"), "connection_failed"),
    ],
)
def test_client__transport_failures_are_translated(exc: Exception, code: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    with ApiClient(URL, token=Secret("t"), transport=httpx.MockTransport(fail)) as client, \
            pytest.raises(TransportError) as err:
        client.whoami()
    assert err.value.code == code
    assert URL in err.value.detail
