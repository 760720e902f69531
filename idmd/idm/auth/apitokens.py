"""API tokens of service accounts: their records in ``api_token``, created, listed, destroyed.

This module decides who may manage an account's API tokens and keeps the records; it does not
sign tokens (``tokens.TokenSigner``, called by the ``Idm`` facade with ``kind="api"``), check
them on a request (``login.Login.authenticate`` reads the record ``claims.record_attr`` names),
or speak HTTP (``idmd/https/api_tokens.py``).

Rules:
- Only service accounts have API tokens; naming a person is ``InvalidValue`` (people log in).
- Permission: the caller may modify ``api_token`` of the service account
  (``txn.can_modify``; the service account admins' access profile grants it). Listing asks the
  same question of the caller's account whatever its session's scope, so a read-only session
  of an admin may list. The records are then written on the caller's behalf
  (``on_behalf_of``): ``api_token`` is a secret attribute, changed only here, after that
  check; the invariant of privileged accounts (plugins/privileged.py) still judges the write,
  so only a member of every privileged group a service account is in manages its tokens.
- A record is one ``api_token`` value, a JSON object ``{"id", "label", "scope", "issued_at",
  "expires_at"}`` that ``tokens.SessionRecord.decode`` reads too (it ignores ``label``), so a
  destroyed record stops its token at once (``TokenRevoked``).
- Labels are validated like SSH key labels and are unique per account among live tokens;
  creating a label that exists is ``Conflict`` (the token cannot be shown again, so an
  idempotent "unchanged" answer would leave a script without a token).
- A token without an expiry still carries an integer ``exp``: ``NO_EXPIRY``, the last second
  RFC 3339 can write (9999-12-31T23:59:59Z); the API shows it as ``expires_at: null``.
- At most ``MAX_API_TOKENS_PER_ACCOUNT`` live tokens per account; expired records are removed
  whenever a token is created.
- Destroying an unknown token id is ``changed: false``.

Implements issue 5 "Sessions and tokens" and contract 7 of docs (docs/api-tokens.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hermit_common.errors import InvalidValue
from idmd import limits
from idmd.entry import Entry
from idmd.errors import AccessDenied, Conflict, NotFound
from idmd.idm.auth.tokens import Scope, SessionRecord
from idmd.idm.directory import lookup
from idmd.idm.directory.views import JSON
from idmd.idm.ids import new_id
from idmd.idm.records import decode_record, encode_record
from idmd.idm.values import iso_time, validate_label
from idmd.server import ReadTxn, WriteTxn
from idmd.server.identity import Identity, on_behalf_of
from idmd.server.mods import Add, Mod, Remove

ATTR = "api_token"
# "No expiry" as a JWT exp (an integer is required): 9999-12-31T23:59:59Z, the last second an
# RFC 3339 date-time can express, so every tool that prints the time can print this one.
NO_EXPIRY = 253_402_300_799


@dataclass(frozen=True)
class ApiTokenRecord:
    """One ``api_token`` value: a SessionRecord with a label."""

    id: str
    label: str
    scope: Scope
    issued_at: int
    # Invariant: NO_EXPIRY when the token has no expiry.
    expires_at: int

    def encode(self) -> str:
        return encode_record(
            {
                "id": self.id,
                "label": self.label,
                "scope": self.scope,
                "issued_at": self.issued_at,
                "expires_at": self.expires_at,
            }
        )

    @staticmethod
    def decode(value: str) -> ApiTokenRecord | None:
        """The record in ``value``, or ``None`` if it is not one of ours."""
        session = SessionRecord.decode(value)
        if session is None:
            return None
        obj = decode_record(value)
        label = obj.get("label") if obj is not None else None
        if not isinstance(label, str):
            return None
        return ApiTokenRecord(
            id=session.id,
            label=label,
            scope=session.scope,
            issued_at=session.issued_at,
            expires_at=session.expires_at,
        )

    def session(self) -> SessionRecord:
        """The claims' half of the record, what ``TokenSigner.issue`` signs."""
        return SessionRecord(
            id=self.id, scope=self.scope, issued_at=self.issued_at, expires_at=self.expires_at
        )

    def view(self) -> JSON:
        """API_TOKEN of docs/api.md: everything but the token itself."""
        return {
            "id": self.id,
            "label": self.label,
            "scope": self.scope,
            "issued_at": iso_time(self.issued_at),
            "expires_at": None if self.expires_at == NO_EXPIRY else iso_time(self.expires_at),
        }


def validate_token_label(raw: object) -> str:
    return validate_label(raw, "an API token label", limits.MAX_SSH_KEY_LABEL_LEN)


def validate_expiry(expires_at: float | None, now: float) -> int:
    """The record's ``expires_at`` for an expiry time (``None``: no expiry).

    Errors: ``InvalidValue`` for a time not in the future or past ``NO_EXPIRY``.
    """
    if expires_at is None:
        return NO_EXPIRY
    if expires_at <= now:
        raise InvalidValue("expires_at must be in the future")
    if expires_at > NO_EXPIRY:
        raise InvalidValue("expires_at must be before the year 10000")
    return int(expires_at)


def _records(entry: Entry) -> list[tuple[str, ApiTokenRecord | None]]:
    return [(value, ApiTokenRecord.decode(value)) for value in entry.get(ATTR)]


def _service_account(txn: ReadTxn, ident: Identity, text: str, *, listing: bool) -> Entry:
    """The service account ``text`` names, if ``ident`` may manage its API tokens.

    Errors: ``NotFound``, ``InvalidValue`` (a person), ``AccessDenied``.
    """
    entry = lookup.find(txn, "account", text)
    if entry is None:
        raise NotFound(f"no service account {text!r}")
    if not entry.has_class("service_account"):
        raise InvalidValue(
            f"{text!r} is not a service account: only service accounts have API tokens"
        )
    # Listing is a read: a read-only session of an account that may manage the tokens may
    # see them, so the question is asked of the account, not of the session's scope.
    judged = replace(ident, read_only=False) if listing else ident
    refusal = txn.modify_refusal(
        judged, entry, [ATTR], f"you may not manage the API tokens of {entry.first('name')!r}"
    )
    if refusal is not None:
        raise AccessDenied(refusal)
    return entry


def _writer(ident: Identity) -> Identity:
    """Who the record is written as: the server, on behalf of the caller's account."""
    return on_behalf_of(ident.uuid) if ident.uuid is not None else ident


def create_api_token(
    txn: WriteTxn,
    ident: Identity,
    text: str,
    label: str,
    *,
    scope: Scope,
    expires_at: int,
    now: float,
) -> tuple[str, ApiTokenRecord]:
    """Store a new token record; the account's uuid and the record (the facade signs it).

    ``label`` is validated here; ``expires_at`` comes from ``validate_expiry``.
    Errors: see ``_service_account``; ``Conflict`` (the label is taken by a live token),
    ``InvalidValue`` (a bad label, or the account holds ``MAX_API_TOKENS_PER_ACCOUNT``).
    """
    label = validate_token_label(label)
    entry = _service_account(txn, ident, text, listing=False)
    over: list[str] = []
    live: list[ApiTokenRecord] = []
    for value, record in _records(entry):
        if record is None or now >= record.expires_at:
            over.append(value)
        else:
            live.append(record)
    taken = next((record for record in live if record.label == label), None)
    if taken is not None:
        raise Conflict(
            f"{entry.first('name')!r} has an API token labelled {label!r} (id {taken.id}); "
            "destroy it first or pick another label"
        )
    if len(live) >= limits.MAX_API_TOKENS_PER_ACCOUNT:
        raise InvalidValue(
            f"a service account may have at most {limits.MAX_API_TOKENS_PER_ACCOUNT} API "
            "tokens; destroy one first"
        )
    record = ApiTokenRecord(
        id=new_id(16),
        label=label,
        scope=scope,
        issued_at=int(now),
        expires_at=expires_at,
    )
    mods: list[Mod] = [Remove(ATTR, value) for value in over]
    mods.append(Add(ATTR, record.encode()))
    txn.modify(_writer(ident), entry.uuid, mods)
    return entry.uuid, record


def list_api_tokens(txn: ReadTxn, ident: Identity, text: str) -> list[JSON]:
    """Every token record of the account, oldest first, without the tokens themselves."""
    entry = _service_account(txn, ident, text, listing=True)
    records = [record for _, record in _records(entry) if record is not None]
    records.sort(key=lambda record: (record.issued_at, record.label))
    return [record.view() for record in records]


def destroy_api_token(txn: WriteTxn, ident: Identity, text: str, token_id: str) -> bool:
    """Remove the record ``token_id``: its token is refused from the next request on."""
    entry = _service_account(txn, ident, text, listing=False)
    values = [
        value for value, record in _records(entry) if record is not None and record.id == token_id
    ]
    if not values:
        return False
    _, changed = txn.modify(_writer(ident), entry.uuid, [Remove(ATTR, value) for value in values])
    return changed
