"""Finding the entry a request names, and reading it as the caller.

docs/api.md: "``{id}`` in a path is an entry's name, spn (``name@domain``) or uuid; for
``/v1/unix/...`` also a gidnumber. Names are folded to lowercase."

Rules:
- Resolution itself is internal (``ReadTxn.resolve``), so a write the caller may not make is
  refused by the access profiles (403), not hidden. A read goes through the caller's search, so
  an entry the caller may not see is ``NotFound``, exactly like one that does not exist.
- An id that names an entry of another kind (a group under ``/v1/person``) is not found there.
- Only the unix routes take a gidnumber; elsewhere a string of digits names nothing (a name is
  never a number).
"""

from __future__ import annotations

from collections.abc import Iterable

from idmd.entry import Entry
from idmd.errors import AccessDenied, NotFound
from idmd.filter import Eq
from idmd.server import ReadTxn
from idmd.server.identity import Identity


def find(txn: ReadTxn, kind: str, text: str, *, allow_gidnumber: bool = False) -> Entry | None:
    """The entry of class ``kind`` that ``text`` names, or ``None`` (internal, no access check)."""
    if not text or (text.isdigit() and not allow_gidnumber):
        return None
    if text.isdigit() and len(text) > 10:
        return None
    entry = txn.resolve(text.lower())
    if entry is None or not entry.has_class(kind):
        return None
    return entry


def find_or_404(
    txn: ReadTxn, kind: str, text: str, *, allow_gidnumber: bool = False
) -> Entry:
    entry = find(txn, kind, text, allow_gidnumber=allow_gidnumber)
    if entry is None:
        raise NotFound(f"no {kind.replace('_', ' ')} {text!r}")
    return entry


def find_to_modify(
    txn: ReadTxn, ident: Identity, kind: str, text: str, attrs: Iterable[str], denied: str
) -> Entry:
    """The entry of class ``kind`` that ``text`` names, when ``ident`` may write ``attrs`` of it.

    Errors: ``NotFound``, ``AccessDenied`` (saying ``denied``, or why an account in a
    privileged group is out of reach: plugins/privileged.py).
    """
    entry = find_or_404(txn, kind, text)
    refusal = txn.modify_refusal(ident, entry, attrs, denied)
    if refusal is not None:
        raise AccessDenied(refusal)
    return entry


def read_as(txn: ReadTxn, ident: Identity, entry: Entry) -> Entry:
    """``entry`` as ``ident`` may see it. Errors: ``NotFound`` when it may not see it at all."""
    found = txn.search(ident, Eq("uuid", entry.uuid))
    if not found:
        raise NotFound(f"no entry {entry.first('name')!r}")
    return found[0]


def read_by_id(
    txn: ReadTxn, ident: Identity, kind: str, text: str, *, allow_gidnumber: bool = False
) -> Entry:
    """The entry of class ``kind`` named by ``text``, as ``ident`` sees it."""
    entry = find_or_404(txn, kind, text, allow_gidnumber=allow_gidnumber)
    try:
        return read_as(txn, ident, entry)
    except NotFound:
        raise NotFound(f"no {kind.replace('_', ' ')} {text!r}") from None
