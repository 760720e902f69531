"""Turning accounts and groups into POSIX ones: the modifications, never the allocation.

The storage layer allocates a gidnumber for an entry that gains a POSIX class without one, and
keeps gidnumbers unique; this module only decides which modifications a request means, so that
repeating it means none.

Rules (DESIGN.md "Data model"): an account's gidnumber is also its uid and the gid of its
user-private group; a gidnumber chosen by hand must lie outside every reserved range
(``idmd.names.validate_gidnumber``). The modifications always state the whole wish, also when
it is already true: the storage layer then reports ``changed: false`` and still checks that
the caller may make them.
"""

from __future__ import annotations

from idmd.names import validate_gidnumber
from idmd.server.mods import Add, Mod, Set


def _gid_mods(cls: str, gidnumber: int | None) -> list[Mod]:
    mods: list[Mod] = [Add("class", cls)]
    if gidnumber is not None:
        mods.append(Set("gidnumber", frozenset({str(validate_gidnumber(gidnumber))})))
    return mods


def posix_account_mods(
    *, gidnumber: int | None, loginshell: str | None
) -> list[Mod]:
    mods = _gid_mods("posix_account", gidnumber)
    if loginshell is not None:
        mods.append(Set("loginshell", frozenset({loginshell})))
    return mods


def posix_group_mods(*, gidnumber: int | None) -> list[Mod]:
    return _gid_mods("posix_group", gidnumber)
