"""SSH public keys: accepted types, fingerprints, and each refusal."""

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from hermit_common.errors import InvalidValue
from idmd import limits
from idmd.errors import InvalidSshKey
from idmd.idm.directory.sshkeys import decode_stored, make_key, parse_key_line, validate_label


def _openssh_line(key: object) -> str:
    public = key.public_key()  # type: ignore[attr-defined]
    return public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _expected_fingerprint(line: str) -> str:
    blob = base64.b64decode(line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


ED25519 = _openssh_line(ed25519.Ed25519PrivateKey.generate())
RSA = _openssh_line(rsa.generate_private_key(public_exponent=65537, key_size=2048))
ECDSA = _openssh_line(ec.generate_private_key(ec.SECP256R1()))
SK_ED25519 = (
    "sk-ssh-ed25519@openssh.com "
    + base64.b64encode(
        _string(b"sk-ssh-ed25519@openssh.com") + _string(b"\x07" * 32) + _string(b"ssh:")
    ).decode()
)


@pytest.mark.parametrize("line", [ED25519, RSA, ECDSA, SK_ED25519])
def test_parse_key_line__accepts_public_keys(line: str) -> None:
    normalised, fingerprint = parse_key_line(f"  {line}   alice@laptop \n")
    assert normalised == f"{line} alice@laptop"
    assert fingerprint == _expected_fingerprint(line)


def test_parse_key_line__fingerprint_matches_ssh_keygen() -> None:
    # ssh-keygen -lf on this key prints SHA256:VIGKjgRI6tplwgF3l2T7DNRuoIbhj8fqq9i3NxuktPE
    line = (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJEnHZtvakz5EzUs3nLyedQAUj9UdXVlvSHoee5f6N3Z me@host"
    )
    assert parse_key_line(line)[1] == "SHA256:VIGKjgRI6tplwgF3l2T7DNRuoIbhj8fqq9i3NxuktPE"


def _private_pem() -> str:
    return (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )


SMALL_RSA = _openssh_line(rsa.generate_private_key(public_exponent=65537, key_size=1024))


@pytest.mark.parametrize(
    "raw",
    [
        _private_pem(),
        "-----BEGIN RSA PRIVATE KEY----- AAAA",
        "garbage",
        "",
        "ssh-ed25519",
        ED25519[: len(ED25519) - 8],  # truncated base64
        ED25519 + "AAAA",  # trailing data in the blob
        "ssh-ed25519 !!!notbase64!!!",
        "ssh-rsa " + ED25519.split()[1],  # type word does not match the blob
        'from="10.0.0.1" ' + ED25519,  # authorized_keys options
        "ssh-dss AAAAB3NzaC1kc3MAAACBAP",
        ED25519 + " comment\nssh-ed25519 AAAA",
        ED25519 + " bad\x07comment",
        ED25519 + " " + "c" * limits.MAX_SSH_KEY_LEN,
        SMALL_RSA,
        "ssh-ed25519-cert-v01@openssh.com " + ED25519.split()[1],
        None,
        42,
    ],
)
def test_parse_key_line__refuses(raw: object) -> None:
    with pytest.raises(InvalidSshKey):
        parse_key_line(raw)


@pytest.mark.parametrize("raw", ["", "a" * 65, "has space", "a:b", "a/b", None])
def test_validate_label__refuses(raw: object) -> None:
    with pytest.raises(InvalidValue):
        validate_label(raw)


def test_make_key__folds_label_and_round_trips_through_storage() -> None:
    key = make_key("Laptop", ED25519 + " me")
    assert key.label == "laptop"
    assert key.stored() == f"laptop:{ED25519} me"
    assert decode_stored(key.stored()) == key


def test_decode_stored__unparseable_is_none() -> None:
    assert decode_stored("nolabel") is None
    assert decode_stored("laptop:garbage") is None
