"""The password badlist: common passwords no account may set, kept on the ``system_config`` entry.

The words are the values of ``badlist_password`` on the builtin ``system_config`` entry, stored
lowercase (the match is case-insensitive). This module reads and changes that list; judging a
password against it is ``password``'s job, and who may change it is the access profiles' (only
``system_admins`` may modify ``badlist_password``).

Rules:
- Words are stored casefolded and stripped; a blank word is refused, and so is one longer than
  ``MAX_TEXT_LEN`` or holding a control character (the UTF8 syntax).
- The list holds at most ``MAX_BADLIST_WORDS`` words; an addition beyond it is refused whole.
- The default list is seeded once per database (a meta key remembers it), so a word an admin
  removed does not come back at the next start. ``Idm.__init__`` seeds it, in the transaction
  that loads the signing key: a new database and one made by an older hermit both get it, and
  the storage layer's builtin seeding stays free of policy data.
- The default is zxcvbn's bundled list of common passwords, the words of at least
  ``ABSOLUTE_MIN_PASSWORD_CHARS`` characters (a shorter one is refused by length anyway):
  11,611 words, about 130 KB in the entry; seeding takes about 0.1 s, once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from hermit_common.errors import InvalidValue
from idmd import limits
from idmd.entry import Entry
from idmd.errors import AccessDenied
from idmd.filter import Eq
from idmd.server import ReadTxn, WriteTxn
from idmd.server.builtin import UUID_SYSTEM_CONFIG
from idmd.server.identity import INTERNAL, Identity
from idmd.server.mods import Add, Mod, Remove, Set

ATTR = "badlist_password"
# Meta key set once the default list was written to this database.
SEEDED_META = "badlist_seeded"


def normalise(word: str) -> str:
    """The stored form of a badlist word, and the form a password is compared in."""
    return word.strip().casefold()


def words(txn: ReadTxn) -> frozenset[str]:
    """The badlist as the server sees it (whoever asks: a policy applies to everyone)."""
    config = txn.get(UUID_SYSTEM_CONFIG)
    return config.get(ATTR) if config is not None else frozenset()


@functools.cache
def default_words() -> frozenset[str]:
    """zxcvbn's common passwords long enough to pass the length rule, casefolded."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    found = {
        normalise(word)
        for word in FREQUENCY_LISTS["passwords"]
        if len(word) >= limits.ABSOLUTE_MIN_PASSWORD_CHARS
    }
    return frozenset(found)


def seed_default(txn: WriteTxn) -> bool:
    """Add the default list once per database (see the module rules); whether it was added."""
    if txn.get_meta(SEEDED_META) is not None:
        return False
    txn.modify(INTERNAL, UUID_SYSTEM_CONFIG, [Set(ATTR, default_words())])
    txn.set_meta(SEEDED_META, b"1")
    return True


def validate_words(raw: Iterable[object]) -> list[str]:
    """The stored forms of ``raw``, deduplicated in order. Errors: ``InvalidValue``."""
    found: dict[str, None] = {}
    for item in raw:
        if not isinstance(item, str):
            raise InvalidValue("badlist words must be strings")
        word = normalise(item)
        if not word:
            raise InvalidValue("a badlist word may not be blank")
        if len(word) > limits.MAX_TEXT_LEN:
            raise InvalidValue(f"a badlist word may have at most {limits.MAX_TEXT_LEN} characters")
        found[word] = None
        if len(found) > limits.MAX_BADLIST_WORDS:
            raise InvalidValue(f"the badlist may hold at most {limits.MAX_BADLIST_WORDS} words")
    return list(found)


def list_words(txn: ReadTxn, ident: Identity) -> list[str]:
    """The badlist, sorted. Errors: ``AccessDenied`` unless ``ident`` may read it."""
    found = txn.search(ident, Eq("uuid", UUID_SYSTEM_CONFIG))
    if not found:
        raise AccessDenied("only system_admins may read the password badlist")
    return sorted(found[0].get(ATTR))


def add_words(txn: WriteTxn, ident: Identity, new: list[str]) -> tuple[bool, int]:
    """Add ``new`` (already validated); whether anything changed and the count after."""
    config = _config(txn)
    # Rights first: the size check below would otherwise tell anyone how the list overlaps.
    if not txn.can_modify(ident, config, [ATTR]):
        raise AccessDenied("only system_admins may change the password badlist")
    present = config.get(ATTR)
    if len(present | frozenset(new)) > limits.MAX_BADLIST_WORDS:
        raise InvalidValue(f"the badlist may hold at most {limits.MAX_BADLIST_WORDS} words")
    return _modify(txn, ident, [Add(ATTR, word) for word in new])


def remove_words(txn: WriteTxn, ident: Identity, gone: list[str]) -> tuple[bool, int]:
    """Remove ``gone`` (already validated); whether anything changed and the count after."""
    return _modify(txn, ident, [Remove(ATTR, word) for word in gone])


def _config(txn: ReadTxn) -> Entry:
    config = txn.get(UUID_SYSTEM_CONFIG)
    assert config is not None, "the builtin system_config entry is seeded at open"
    return config


def _modify(txn: WriteTxn, ident: Identity, mods: list[Mod]) -> tuple[bool, int]:
    after, changed = txn.modify(ident, UUID_SYSTEM_CONFIG, mods)
    return changed, len(after.get(ATTR))
