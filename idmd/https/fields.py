"""The JSON Schema of each kind of value a request body carries, written from idm's rules.

The rules themselves live in idm (``idmd/names.py``, ``idmd/idm/values.py``, ``idmd/idm/bounds.py``)
and are checked there; these schemas only tell clients, in the OpenAPI document, what idm
accepts. Each must describe exactly what idm accepts: a wider schema makes a schema-valid
request refused (schemathesis' ``positive_data_acceptance``), a narrower one makes a
schema-invalid request accepted (``negative_data_rejection``). Where a rule cannot be said in
a schema (an SSH key that parses, a password the policy allows) the fuzz run's configuration
(``tests/integration/schemathesis.toml``) names the operation and the reason.

Patterns are anchored and use only what both ECMA 262 and Python's ``re`` read alike.
"""

from __future__ import annotations

import sys
import unicodedata
from typing import Any

from idmd import limits
from idmd.names import MANUAL_RANGES, RESERVED_NAMES

JSON = dict[str, Any]

# The characters stored text may not hold (value.normalise's _has_control: Unicode categories
# Cc, Cf, Zl, Zp), and the other characters str.strip() removes. Computed from this Python's
# Unicode database, the one idm checks with.
_NOT_IN_TEXT = ("Cc", "Cf", "Zl", "Zp")


def _char_class(codepoints: list[int]) -> str:
    """The inside of a regex character class holding exactly ``codepoints`` (sorted)."""
    runs: list[list[int]] = []
    for point in codepoints:
        if runs and runs[-1][1] == point - 1:
            runs[-1][1] = point
        else:
            runs.append([point, point])
    return "".join(chr(lo) if lo == hi else f"{chr(lo)}-{chr(hi)}" for lo, hi in runs)


_ALL = [chr(point) for point in range(sys.maxunicode + 1)]
_CONTROL = _char_class(
    [ord(ch) for ch in _ALL if unicodedata.category(ch) in _NOT_IN_TEXT]
)
_SPACE = _char_class(
    [ord(ch) for ch in _ALL if ch.isspace() and unicodedata.category(ch) not in _NOT_IN_TEXT]
)
# White space stored text may begin or end with: stripped before the Cc/Cf/Zl/Zp check, and
# not refused earlier by validate_text (which refuses C0 and C1 controls wherever they are).
_EDGE = _char_class(
    [ord(ch) for ch in _ALL if ch.isspace() and not (ch < " " or "\x7f" <= ch < "\xa0")]
)
_EDGE_NOT_20 = _EDGE.replace(" ", "", 1)
del _ALL

# values.validate_text and the UTF8 syntax: not blank, at most MAX_TEXT_LEN characters, none of
# _NOT_IN_TEXT.
def _text(pattern: str) -> JSON:
    """A string of at most MAX_TEXT_LEN characters matching ``pattern``."""
    return {"type": "string", "maxLength": limits.MAX_TEXT_LEN, "pattern": pattern}


TEXT = _text(f"^[{_EDGE}]*[^{_CONTROL}]*[^{_CONTROL}{_SPACE}][^{_CONTROL}]*[{_EDGE}]*$")
# values.validate_mail and the MAIL syntax: one '@' between a non-empty local part and domain,
# no space or control character; other white space only around it (stored stripped).
MAIL = _text(
    f"^[{_EDGE_NOT_20}]*[^{_CONTROL}{_SPACE}@]+@[^{_CONTROL}{_SPACE}@]+[{_EDGE_NOT_20}]*$"
)
MAILS: JSON = {"type": "array", "items": MAIL, "maxItems": limits.MAX_MEMBERS_PER_REQUEST}
# names.validate_name, on the name folded to lowercase: a letter, then a-z 0-9 . _ -, no '..',
# not a reserved system name. (A 32-hex-digit name is a uuid and refused too: the schema does
# not say so, a generator practically never draws one.)
NAME: JSON = {
    "type": "string",
    "minLength": 1,
    "maxLength": limits.MAX_NAME_LEN,
    "pattern": "^[a-zA-Z][a-zA-Z0-9._-]*$",
    "not": {
        "anyOf": [
            {"pattern": "\\.\\."},
            {"enum": sorted(RESERVED_NAMES)},
            {"pattern": "^[sS][yY][sS][tT][eE][mM][dD]-"},
        ]
    },
}


# values.validate_label, folded to lowercase: 1 to max_len of a-z 0-9 . _ -.
def label(max_len: int) -> JSON:
    return {"type": "string", "pattern": f"^[a-zA-Z0-9._-]{{1,{max_len}}}$"}


# values.validate_loginshell: an absolute path, no ':' or C0 control, no '..' component, not
# ending in '/'. One component: anything but '..' (and not empty, for the last one).
_CHAR = "[^/:\\u0000-\\u001f]"
_FIRST = "[^/:.\\u0000-\\u001f]"
_COMPONENT = f"(?:{_FIRST}{_CHAR}*|\\.(?:{_FIRST}{_CHAR}*)?|\\.\\.{_CHAR}+)"
LOGINSHELL = _text(f"^(?:/{_COMPONENT}?)*/{_COMPONENT}$")
# names.validate_gidnumber: one of the ranges a gidnumber may be chosen from by hand.
GIDNUMBER: JSON = {
    "type": "integer",
    "anyOf": [{"minimum": low, "maximum": high} for low, high in MANUAL_RANGES],
}
TIME: JSON = {"type": "string", "format": "date-time"}
