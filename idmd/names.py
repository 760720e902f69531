"""What a name may be, and the gidnumber ranges hermit may use.

Implements DESIGN.md "Data model": names are a lowercase ASCII letter, then ``a-z 0-9 . _ -``,
at most 64 characters; never a uuid, a number, ``root`` or another reserved system name; input
is folded to lowercase. Nothing that could break ``/etc/passwd`` or a path can pass.

gidnumbers are checked against every range systemd and Debian reserve (see
``docs/decisions.md``, "gidnumber ranges").
"""

from __future__ import annotations

import re
import uuid as uuidlib

from idmd.errors import InvalidName, ReservedGid
from idmd.limits import MAX_NAME_LEN

_NAME_RE = re.compile(r"[a-z][a-z0-9._-]*")

# Names that local systems already give a meaning to; a directory account with one of them
# would shadow, or be shadowed by, a system account on every host.
RESERVED_NAMES = frozenset(
    {
        "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp",
        "proxy", "www-data", "backup", "list", "irc", "gnats", "nobody", "nogroup", "_apt",
        "adm", "tty", "disk", "kmem", "dialout", "fax", "voice", "cdrom", "floppy", "tape",
        "sudo", "audio", "dip", "operator", "src", "shadow", "utmp", "video", "sasl", "plugdev",
        "users", "input", "sgx", "kvm", "render", "netdev", "messagebus", "sshd", "wheel",
        "polkitd", "systemd-journal", "systemd-network", "systemd-resolve", "systemd-timesync",
        "systemd-coredump", "hermit-unixd", "hermit-idmd", "hermit",
    }
)


def fold_name(raw: str) -> str:
    """Fold a name as users type it (case) without judging it."""
    return raw.strip().lower()


def validate_name(raw: object) -> str:
    """Return the stored form of ``raw`` or raise ``InvalidName`` saying why it is refused."""
    if not isinstance(raw, str):
        raise InvalidName("a name must be a string")
    name = raw.lower()
    if not name:
        raise InvalidName("a name may not be empty")
    if len(name) > MAX_NAME_LEN:
        raise InvalidName(f"a name may have at most {MAX_NAME_LEN} characters")
    if ".." in name:
        raise InvalidName("a name may not contain '..'")
    if not _NAME_RE.fullmatch(name):
        raise InvalidName(
            "a name must start with a letter a-z and contain only a-z, 0-9, '.', '_' and '-'"
        )
    if is_uuid(name):
        raise InvalidName("a name may not be a uuid")
    if name in RESERVED_NAMES or name.startswith("systemd-"):
        raise InvalidName(f"the name {name!r} is reserved for the system")
    return name


def is_uuid(text: str) -> bool:
    try:
        uuidlib.UUID(text)
    except ValueError:
        return False
    return len(text) in (32, 36)


# gidnumber policy. Allocation happens inside ALLOC_RANGE; a gidnumber chosen by hand must lie
# in one of MANUAL_RANGES (which include the allocation range and Debian's range for ordinary
# users, so sites migrating from LDAP keep their numbers).
#   0-999            Debian/systemd system users and groups
#   60000-64999      Debian: globally allocated by the Debian project
#   65000-65533      Debian: reserved
#   65534            nobody/nogroup;  65535  the 16-bit (uid_t)-1
#   60001-60513      systemd-homed;  61184-65519  systemd DynamicUser=
#   524288-1879048191  systemd-nspawn container ranges
#   2147352576-2147418111  systemd's "foreign" UID range; >= 2^31 breaks signed-int consumers
ALLOC_RANGE = (65_536, 524_287)
MANUAL_RANGES = ((1_000, 59_999), (65_536, 524_287), (1_879_048_192, 2_147_352_575))


def validate_gidnumber(raw: object) -> int:
    """Return ``raw`` as a gidnumber a person may choose, or raise ``ReservedGid``."""
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ReservedGid("a gidnumber must be an integer")
    for low, high in MANUAL_RANGES:
        if low <= raw <= high:
            return raw
    ranges = ", ".join(f"{low}-{high}" for low, high in MANUAL_RANGES)
    raise ReservedGid(f"gidnumber {raw} is reserved; choose one in {ranges}")
