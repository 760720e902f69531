"""The server's certificate: ``cert-generate`` writes it, ``make_tls_context`` loads it.

This module makes keys and certificates, writes them to files and builds the server's TLS
context from them; it does not decide where they live (``idmd/config.py`` does) and does not
serve (``idmd/serve.py`` does). Implements
DESIGN.md "Entry points": ``cert-generate`` writes ``tls_chain``, ``tls_key`` and the CA as
``ca.pem`` beside ``tls_chain``; the certificate covers the host of ``origin``, ``localhost``
and ``127.0.0.1`` (and ``::1``).

Rules:
- EC P-256 keys, ECDSA with SHA-256: small and fast, also on a Raspberry Pi.
- The CA may sign server certificates only (``path_length=0``) and its private key is never
  written: running ``cert-generate`` again makes a new CA, which clients must then be given.
  Keeping no CA key means a stolen server cannot mint certificates clients trust.
- The server speaks TLS 1.2 at least, TLS 1.2 only with ECDHE and AEAD suites, and offers
  ALPN ``http/1.1`` only (DESIGN.md "Security invariants").
- Files are written whole (a temporary file, then a rename); the key is created 0600 and never
  exists with looser permissions. Existing files are only replaced with ``force``.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hermit_common.errors import HermitError

# The CA outlives several server certificates; the server certificate stays under the 825
# days that Apple's platforms accept for a certificate from a private CA.
CA_VALID_DAYS = 3650
LEAF_VALID_DAYS = 825
# Tolerate clients whose clock is a little behind.
BACKDATE = datetime.timedelta(minutes=5)
# TLS 1.2 suites: ECDHE key exchange and AEAD only (Mozilla's "intermediate" profile minus
# DHE, which an EC key cannot use anyway). TLS 1.3 suites are all fine and not configurable.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


class CertError(HermitError):
    """The certificate files could not be written; the message names the file."""

    code = "cert_error"


@dataclass(frozen=True)
class CertPaths:
    chain: Path
    key: Path
    ca: Path


def generate(paths: CertPaths, host: str, now: float, *, force: bool = False) -> None:
    """Write a new CA (``paths.ca``), a server certificate (``paths.chain``) and its key.

    ``host`` is the host of ``origin``; ``now`` is wall time in seconds since the epoch.
    Errors: ``CertError`` when a file exists and ``force`` is false, or cannot be written.
    """
    if not force:
        for path in (paths.chain, paths.key, paths.ca):
            if path.exists():
                raise CertError(f"{path} exists; pass --force to replace it")
    start = datetime.datetime.fromtimestamp(now, tz=datetime.UTC) - BACKDATE
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _make_ca(ca_key, start)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = _make_leaf(leaf_key, ca_key, ca_cert, host, start)

    key_pem = leaf_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(paths.key, key_pem, 0o600)
    _write(paths.chain, leaf_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(paths.ca, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)


def subject_alt_names(host: str) -> list[x509.GeneralName]:
    """The names the server certificate covers: ``host``, localhost and the loopbacks."""
    names: list[x509.GeneralName] = []
    for text in (host, "localhost", "127.0.0.1", "::1"):
        name = _general_name(text)
        if name not in names:
            names.append(name)
    return names


def _general_name(text: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(text))
    except ValueError:
        return x509.DNSName(text)


def _make_ca(key: ec.EllipticCurvePrivateKey, start: datetime.datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hermit-idmd local CA")])
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=CA_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _make_leaf(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    host: str,
    start: datetime.datetime,
) -> x509.Certificate:
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=LEAF_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(subject_alt_names(host)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` whole, created with ``mode`` from the first byte."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed it; never widened past ``mode``
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise CertError(f"{path}: cannot write: {exc.strerror}") from exc


class TlsFilesError(HermitError):
    """The certificate or key cannot be used; the message names the file and the remedy."""

    code = "tls_files"


def make_tls_context(chain: Path, key: Path, config_path: Path) -> ssl.SSLContext:
    """The server's TLS context. Errors: ``TlsFilesError`` naming the file and the remedy."""
    remedy = f"create them with: hermit-idmd cert-generate -c {config_path}"
    for label, path in (("tls_chain", chain), ("tls_key", key)):
        try:
            path.open("rb").close()
        except OSError as exc:
            raise TlsFilesError(f"cannot read {label} {path}: {exc.strerror}; {remedy}") from exc
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.set_alpn_protocols(["http/1.1"])
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    try:
        context.load_cert_chain(chain, key)
    except ssl.SSLError as exc:
        raise TlsFilesError(
            f"tls_chain {chain} and tls_key {key} do not form a usable certificate and key "
            f"({exc.reason}); {remedy}"
        ) from exc
    return context
