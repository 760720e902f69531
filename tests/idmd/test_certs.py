"""cert-generate: files, permissions, names covered, and a real TLS handshake against them."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import stat
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from idmd.certs import CertError, CertPaths, generate

NOW = 1_800_000_000.0


@pytest.fixture
def paths(tmp_path: Path) -> CertPaths:
    tls = tmp_path / "tls"
    return CertPaths(chain=tls / "chain.pem", key=tls / "key.pem", ca=tls / "ca.pem")


def handshake(paths: CertPaths, server_hostname: str) -> str | None:
    """A TLS handshake in memory: the server loads our files, the client pins ca.pem."""
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(paths.chain, paths.key)
    client_ctx = ssl.create_default_context(cafile=str(paths.ca))
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=server_hostname)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, end, out, peer_in in (
            ("client", client, c_out, s_in), ("server", server, s_out, c_in)
        ):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
            peer_in.write(out.read())
        if all(done.values()):
            return client.version()
    raise AssertionError("handshake did not finish")


def test_generate__writes_chain_key_and_ca(paths: CertPaths) -> None:
    generate(paths, "idm.example.com", NOW)
    assert paths.chain.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert paths.ca.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert paths.key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert not list(paths.chain.parent.glob(".*.tmp"))


def test_generate__key_is_0600_and_certificates_are_readable(paths: CertPaths) -> None:
    generate(paths, "idm.example.com", NOW)
    assert stat.S_IMODE(paths.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.ca.stat().st_mode) == 0o644
    assert stat.S_IMODE(paths.chain.stat().st_mode) == 0o644


def test_generate__leaf_covers_origin_host_localhost_and_loopbacks(paths: CertPaths) -> None:
    generate(paths, "idm.example.com", NOW)
    leaf = x509.load_pem_x509_certificate(paths.chain.read_bytes())
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["idm.example.com", "localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")
    ]


def test_generate__an_ip_origin_is_not_repeated(paths: CertPaths) -> None:
    generate(paths, "127.0.0.1", NOW)
    leaf = x509.load_pem_x509_certificate(paths.chain.read_bytes())
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")
    ]


def test_generate__p256_keys_and_a_ca_that_signs_only_leaves(paths: CertPaths) -> None:
    generate(paths, "idm.example.com", NOW)
    ca = x509.load_pem_x509_certificate(paths.ca.read_bytes())
    leaf = x509.load_pem_x509_certificate(paths.chain.read_bytes())
    for cert in (ca, leaf):
        public = cert.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        assert public.curve.name == "secp256r1"
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert (constraints.ca, constraints.path_length) == (True, 0)
    leaf_constraints = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert leaf_constraints.ca is False
    assert leaf.issuer == ca.subject


def test_generate__validity_starts_from_the_given_time(paths: CertPaths) -> None:
    generate(paths, "idm.example.com", NOW)
    leaf = x509.load_pem_x509_certificate(paths.chain.read_bytes())
    start = datetime.datetime.fromtimestamp(NOW, tz=datetime.UTC)
    assert leaf.not_valid_before_utc < start
    assert leaf.not_valid_after_utc - start > datetime.timedelta(days=800)


@pytest.mark.parametrize("name", ["idm.example.com", "localhost", "127.0.0.1", "::1"])
def test_generate__tls_handshake_verifies_against_ca_pem(paths: CertPaths, name: str) -> None:
    generate(paths, "idm.example.com", time.time())
    assert handshake(paths, name) is not None


def test_generate__a_name_not_covered_fails_verification(paths: CertPaths) -> None:
    generate(paths, "idm.example.com", time.time())
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(paths, "other.example.com")


def test_generate__refuses_to_replace_existing_files(paths: CertPaths) -> None:
    generate(paths, "idm.example.com", NOW)
    before = paths.key.read_bytes()
    with pytest.raises(CertError, match="exists; pass --force") as info:
        generate(paths, "idm.example.com", NOW)
    assert str(paths.chain) in str(info.value)
    assert paths.key.read_bytes() == before


def test_generate__force_replaces_everything(paths: CertPaths) -> None:
    generate(paths, "idm.example.com", time.time())
    before = paths.ca.read_bytes()
    generate(paths, "idm.example.com", time.time(), force=True)
    assert paths.ca.read_bytes() != before
    assert handshake(paths, "localhost") is not None


def test_generate__unwritable_place_names_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "tls"
    blocker.write_text("a file where the directory should be")
    paths = CertPaths(chain=blocker / "chain.pem", key=blocker / "key.pem", ca=blocker / "ca.pem")
    with pytest.raises(CertError, match="cannot write") as info:
        generate(paths, "idm.example.com", NOW)
    assert str(blocker) in str(info.value)
