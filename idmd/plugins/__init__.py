"""The plugins: one invariant each, run in the order of ``PLUGINS``.

Each write operation runs, in this order: every plugin's ``pre_*`` hook, then the schema check
and the staging of the entry, then every plugin's ``post`` hook, then the schema check of
every entry the operation touched. The order matters where noted.
"""

from __future__ import annotations

from idmd.plugins.base import Base
from idmd.plugins.builtin_protection import BuiltinProtection
from idmd.plugins.context import Change, PluginContext
from idmd.plugins.gidnumber import GidNumber
from idmd.plugins.memberof import MemberOf
from idmd.plugins.names import Names
from idmd.plugins.plugin import Attrs, Plugin
from idmd.plugins.privileged import PrivilegedAccounts
from idmd.plugins.refint import ReferentialIntegrity
from idmd.plugins.uniqueness import Uniqueness

PLUGINS: tuple[Plugin, ...] = (
    # First: completes classes, uuid and spn, which every later check reads.
    Base(),
    Names(),
    # After base (it reads the completed classes); allocates before uniqueness checks.
    GidNumber(),
    Uniqueness(),
    # Before memberof: deleting an entry removes it from member lists, and memberof is then
    # recomputed from the cleaned-up lists.
    ReferentialIntegrity(),
    MemberOf(),
    BuiltinProtection(),
    # Beside the builtin protection: refuses more than the profiles, never less.
    PrivilegedAccounts(),
)

__all__ = ["PLUGINS", "Attrs", "Change", "Plugin", "PluginContext"]
