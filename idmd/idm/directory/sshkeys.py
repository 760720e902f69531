"""SSH public keys: parsing and validating OpenSSH key lines, fingerprints, labels.

The storage layer only checks the shape ``LABEL:KEYLINE`` of an ``ssh_publickey`` value; this
module decides what a key line may be, before anything is stored. It does not store keys
(``accounts.py`` does).

Rules:
- A key line is ``TYPE BASE64 [COMMENT]`` as in ``~/.ssh/id_*.pub`` (OpenSSH sshd(8)
  "AUTHORIZED_KEYS FILE FORMAT" without the options field): authorized_keys options, private
  keys, certificates and anything ``cryptography`` cannot load are refused with
  ``InvalidSshKey``.
- Accepted types: ssh-ed25519, ssh-rsa (at least 2048 bits), ecdsa-sha2-nistp256/384/521, and
  the FIDO types sk-ssh-ed25519@openssh.com and sk-ecdsa-sha2-nistp256@openssh.com.
- The type word must name the type inside the blob, the blob must be valid base64 with no
  trailing data, and the whole line is at most ``MAX_SSH_KEY_LEN`` characters.
- The comment is kept, but only printable ASCII without control characters, so a stored key
  can never break an authorized_keys line.
- The fingerprint is OpenSSH's: ``SHA256:`` + unpadded base64 of SHA-256 over the key blob.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

from idmd import limits
from idmd.errors import InvalidSshKey
from idmd.idm import values

KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)
# NIST SP 800-57 part 1: RSA below 2048 bits no longer protects anything worth a login.
MIN_RSA_BITS = 2048

_COMMENT_RE = re.compile(r"[\x20-\x7e]*")
_B64_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}")


@dataclass(frozen=True)
class SshKey:
    """One labelled public key.

    Invariant: ``line`` is the normalised key line (single spaces, no trailing whitespace).
    """

    label: str
    line: str
    fingerprint: str

    def stored(self) -> str:
        """The ``ssh_publickey`` attribute value."""
        return f"{self.label}:{self.line}"


def validate_label(raw: object) -> str:
    return values.validate_label(raw, "an SSH key label", limits.MAX_SSH_KEY_LABEL_LEN)


def parse_key_line(raw: object) -> tuple[str, str]:
    """Validate a public key line; return (normalised line, fingerprint).

    Errors: ``InvalidSshKey`` naming what is wrong; the message never quotes the input.
    """
    if not isinstance(raw, str):
        raise InvalidSshKey("an SSH public key must be a string")
    if len(raw) > limits.MAX_SSH_KEY_LEN:
        raise InvalidSshKey(
            f"an SSH public key line may have at most {limits.MAX_SSH_KEY_LEN} characters"
        )
    text = raw.strip()
    if "PRIVATE KEY" in text:
        raise InvalidSshKey("this is a private key; upload the public key (the .pub file)")
    if "\n" in text or "\r" in text:
        raise InvalidSshKey("an SSH public key is one line")
    parts = text.split(None, 2)
    if len(parts) < 2:
        raise InvalidSshKey("an SSH public key line is 'TYPE BASE64 [COMMENT]'")
    key_type, b64 = parts[0], parts[1]
    comment = parts[2] if len(parts) == 3 else ""
    if key_type.endswith("-cert-v01@openssh.com"):
        raise InvalidSshKey("SSH certificates are not accepted; upload the plain public key")
    if key_type not in KEY_TYPES:
        raise InvalidSshKey(
            "unsupported SSH key type (authorized_keys options are not accepted); use one of "
            + ", ".join(sorted(KEY_TYPES))
        )
    if not _B64_RE.fullmatch(b64):
        raise InvalidSshKey("the key data is not valid base64")
    try:
        blob = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSshKey("the key data is not valid base64") from None
    if _blob_type(blob) != key_type:
        raise InvalidSshKey("the key type does not match the key data")
    try:
        key = load_ssh_public_key(f"{key_type} {b64}".encode("ascii"))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidSshKey("the key data is not a valid public key") from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise InvalidSshKey(f"RSA keys need at least {MIN_RSA_BITS} bits")
    if not _COMMENT_RE.fullmatch(comment):
        raise InvalidSshKey("the key comment may hold only printable ASCII")
    comment = " ".join(comment.split())
    line = f"{key_type} {b64}" + (f" {comment}" if comment else "")
    digest = hashlib.sha256(blob).digest()
    fingerprint = "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")
    return line, fingerprint


def _blob_type(blob: bytes) -> str | None:
    """The type string at the start of an SSH key blob (RFC 4253 6.6 ``string``)."""
    if len(blob) < 4:
        return None
    length = int.from_bytes(blob[:4], "big")
    if length > 64 or len(blob) < 4 + length:
        return None
    try:
        return blob[4 : 4 + length].decode("ascii")
    except UnicodeDecodeError:
        return None


def make_key(label: object, line: object) -> SshKey:
    """A validated labelled key from request input."""
    good_label = validate_label(label)
    good_line, fingerprint = parse_key_line(line)
    return SshKey(label=good_label, line=good_line, fingerprint=fingerprint)


def decode_stored(value: str) -> SshKey | None:
    """The key in a stored ``ssh_publickey`` value, or ``None`` if it no longer parses."""
    label, sep, line = value.partition(":")
    if not sep:
        return None
    try:
        good_line, fingerprint = parse_key_line(line)
    except InvalidSshKey:
        return None
    return SshKey(label=label, line=good_line, fingerprint=fingerprint)
