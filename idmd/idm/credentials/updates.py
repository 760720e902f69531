"""Credential update sessions against the entry database: the I/O around ``staging``.

This module begins sessions (deciding who may), vets and hashes passwords before they are
staged, reads the account for each step, creates and redeems reset tokens, and runs the
commit's one write transaction. What a session stages and the rules of commit are
``staging.py``; the reset token's form is ``resettoken.py``; HTTP is
``idmd/https/credentials.py``.

Rules (docs/credential-updates.md):
- Who may begin: a caller allowed to write now (``Caller.require_write``: read-write and
  inside its privilege window) that may modify the person's ``password`` (the owner through
  ``acp_self``, or an admin; for an account in a privileged group only the owner or a member
  of every such group, plugins/privileged.py), checked with the caller's identity when the
  session begins; or whoever redeems the person's reset token, who then acts as the person
  with the right of the admin who made the token. The unix password and unix TOTPs also need
  the right to modify ``unix_password``.
- The right lasts no longer than where it came from: every step and the commit ask again
  (``_recheck``). The caller's login session must still exist and be inside its privilege
  window (outside it: ``ReadOnlySession``, and the session stays open for after a reauth);
  the caller (or the token's maker) must still exist, be valid and hold the right. A session
  whose right is gone ends.
- Nothing is written before commit. Commit writes every staged change in one write
  transaction on behalf of the account whose right it used (``on_behalf_of``: the profiles
  were asked by ``_recheck`` in that same transaction; the invariants judge the write); the
  account's other sessions end in it (``revocation.end_sessions``, all but the owner's own
  session that began it). Argon2id and the password policy run when a password is staged,
  never inside that transaction.
- A reset token is created by someone other than the person (who can begin a session
  directly) with the right to modify the person's ``password``; redeeming it uses it up.
- Passkeys are enrolled in two steps: ``begin_passkey`` sends creation options (the
  ceremony stays in the session), ``finish_passkey`` verifies the browser's answer against
  it (the ceremony is then forgotten, whatever the answer) and stages the passkey. Only a
  commit writes passkeys; a login writes only their counters (``auth/login.py``).
- ``overview`` and ``list_passkeys`` read: the first the caller's own account (no session),
  the second any person's passkeys for whoever may change that person's credentials.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import Protocol

from hermit_common.clock import Clock
from hermit_common.errors import InvalidRequest, InvalidValue
from hermit_common.secret import Secret
from idmd import limits
from idmd.entry import Entry
from idmd.errors import (
    AccessDenied,
    AccountExpired,
    Conflict,
    InvalidCredentialUpdate,
    NotFound,
    ReadOnlySession,
    TokenExpired,
    TokenRevoked,
)
from idmd.idm.auth.login import Caller, account_valid_at
from idmd.idm.auth.revocation import end_sessions
from idmd.idm.auth.tokens import check_session
from idmd.idm.credentials import passkeys, resettoken, totp
from idmd.idm.credentials.passwords import Hasher, validate_password
from idmd.idm.credentials.staging import (
    DEFAULT_TOTP_ALGORITHM,
    GUARD,
    Authority,
    PasswordAttr,
    PendingPasskey,
    PendingTotp,
    StagedPassword,
    TotpAttr,
    UpdateSession,
    UpdateSessions,
    validate_totp_label,
)
from idmd.idm.directory import lookup
from idmd.idm.directory.views import JSON
from idmd.idm.policy.account import account_policy
from idmd.idm.values import iso_time
from idmd.server import QueryServer, ReadTxn
from idmd.server.identity import account_identity, on_behalf_of

# Credential updates are for people (``hermit person credential``).
ACCOUNT_CLASS = "person"

WINDOW_OVER = (
    "the privilege window of the session that began this credential update is over: run "
    "hermit reauth, then go on"
)
BEGINNER_GONE = "the session that began this credential update has ended: begin again"


class PasswordVetter(Protocol):
    """``idmd.idm.policy.password.vet_password``: the password policy.

    It raises ``PasswordRejected``.
    """

    def __call__(
        self,
        server: QueryServer,
        account_uuid: str,
        password: Secret,
        *,
        has_second_factor: bool | None = None,
    ) -> Awaitable[Secret]: ...


@dataclass(frozen=True)
class TotpEnrolment:
    """What the person's app needs for a TOTP being added (secrets: shown once)."""

    label: str
    secret: Secret
    uri: Secret
    algorithm: str
    digits: int
    step: int


class CredentialUpdates:
    """The sessions and their I/O: beginning, staging (with hashing), status and commit.

    Every method that takes a session id raises ``InvalidCredentialUpdate`` for a session that
    is not open, and ``NotFound`` (ending the session) when the account has gone.
    """

    def __init__(
        self,
        server: QueryServer,
        hasher: Hasher,
        clock: Clock,
        *,
        vet: PasswordVetter,
        issuer: str,
        origin: str,
    ) -> None:
        self._server = server
        self._rp = passkeys.RelyingParty(origin)
        self._hasher = hasher
        self._clock = clock
        self._vet = vet
        self._issuer = issuer
        self.sessions = UpdateSessions(clock)
        self.reset_tokens = resettoken.ResetTokens(clock)

    # -- beginning -------------------------------------------------------------------------

    def begin(self, caller: Caller, text: str) -> str:
        """Open a session for person ``text`` as ``caller``; the session id.

        Errors: ``ReadOnlySession`` (read-only, or outside the privilege window: reauth),
        ``NotFound``, ``AccessDenied``.
        """
        caller.require_write()
        with self._server.read() as txn:
            entry = lookup.find_to_modify(
                txn, caller.identity, ACCOUNT_CLASS, text, ["password"],
                f"you may not change the credentials of {text!r}",
            )
            may_unix = txn.can_modify(caller.identity, entry, ["unix_password"])
        uuid = caller.claims.account_uuid
        own = caller.claims.kind == "session" and uuid == entry.uuid
        authority = Authority(
            actor_uuid=uuid,
            unix_by=uuid,
            claims=caller.claims,
            keep_session=caller.claims.session_id if own else None,
        )
        return self.sessions.begin(entry.uuid, may_unix=may_unix, authority=authority).id

    def begin_with_reset_token(self, token: str) -> str:
        """Redeem ``token`` (it is used up) and open a session for its person, acting as them.

        Errors: ``InvalidResetToken`` (unknown, used or expired), ``AccountExpired`` (the
        token is then kept, so it works once the account is valid again).
        """
        now = self._clock.now()
        with self._server.read() as txn:
            found = self.reset_tokens.find(txn, token)
        if found is None:
            raise resettoken.invalid()
        if not account_valid_at(found, now):
            raise AccountExpired("this account is expired or not yet valid")
        with self._server.write() as txn:
            current = self.reset_tokens.find(txn, token)
            record = resettoken.record_of(current) if current is not None else None
            if current is None or record is None:
                raise resettoken.invalid()
            # The token carries its maker's right: gone with it, the token is refused (and
            # kept: it could not be used by anyone anyway, and it expires). A token without a
            # maker (the server's own) acts with the person's right.
            issuer = record.issued_by or current.uuid
            self._check_maker(txn, issuer, current)
            entry = self.reset_tokens.redeem(txn, token)
            # The session acts as the person: what they may change of their own account.
            may_unix = entry is not None and txn.can_modify(
                account_identity(entry.uuid, read_only=False), entry, ["unix_password"]
            )
        if entry is None:
            raise resettoken.invalid()
        authority = Authority(actor_uuid=issuer, unix_by=entry.uuid)
        return self.sessions.begin(entry.uuid, may_unix=may_unix, authority=authority).id

    def _check_maker(self, txn: ReadTxn, issuer: str, entry: Entry) -> None:
        """Refuse a reset token whose maker may no longer change the person's credentials
        (gone, outside its validity, without the right, or short of a privileged group the
        person joined since). Errors: ``AccessDenied``."""
        maker = txn.get(issuer)
        refused = (
            maker is None
            or not account_valid_at(maker, self._clock.now())
            or not txn.can_modify(
                account_identity(issuer, read_only=False), entry, ["password"]
            )
        )
        if refused:
            raise AccessDenied(
                "the admin who made this reset token may no longer change the credentials of "
                f"{entry.first('name')!r}: ask an admin for a new one"
            )

    def create_reset_token(
        self, caller: Caller, text: str, ttl: int = limits.DEFAULT_RESET_TOKEN_TTL_SECONDS
    ) -> tuple[Secret, str]:
        """A new reset token for person ``text`` (replacing any other) and its expiry time.

        Who: a read-write caller that may modify the person's ``password`` and is not the
        person (who can begin a session directly). Errors: ``ReadOnlySession``,
        ``NotFound``, ``AccessDenied``, ``InvalidValue`` (ttl).
        """
        ttl = resettoken.validate_ttl(ttl)
        caller.require_write()
        with self._server.write() as txn:
            entry = lookup.find_or_404(txn, ACCOUNT_CLASS, text)
            if entry.uuid == caller.identity.uuid:
                raise AccessDenied(
                    "a reset token is for someone else: change your own credentials with "
                    "hermit person credential update"
                )
            refusal = txn.modify_refusal(
                caller.identity, entry, ["password"],
                f"you may not change the credentials of {text!r}",
            )
            if refusal is not None:
                raise AccessDenied(refusal)
            issuer = caller.identity.uuid or ""
            token, record = self.reset_tokens.create(
                txn, entry, issued_by=issuer, ttl=ttl, by=on_behalf_of(issuer)
            )
        return token, iso_time(record.expires_at)

    # -- inside a session --------------------------------------------------------------------

    def _account(self, txn: ReadTxn, session: UpdateSession) -> Entry:
        entry = txn.get(session.account_uuid)
        if entry is None:
            self.sessions.end(session.id)
            raise NotFound("the account of this credential update session is gone")
        return entry

    def _use(self, session_id: object) -> UpdateSession:
        """The open session ``session_id``, once its right is asked again (``_recheck``)."""
        session = self.sessions.use(session_id)
        with self._server.read() as txn:
            self._recheck(txn, session)
        return session

    def _recheck(self, txn: ReadTxn, session: UpdateSession) -> Entry:
        """Ask the session's right again; the account it is for.

        Errors: ``ReadOnlySession`` (the caller's privilege window is over: the session stays
        open for after a reauth); ``InvalidCredentialUpdate`` (the caller's login session is
        gone or over, or the caller's account is gone or outside its validity) and
        ``AccessDenied`` (the right is gone), both ending the session; ``NotFound``.
        """
        entry = self._account(txn, session)
        authority = session.authority
        now = self._clock.now()
        actor = txn.get(authority.actor_uuid)
        if actor is None or not account_valid_at(actor, now):
            self.sessions.end(session.id)
            raise InvalidCredentialUpdate(BEGINNER_GONE)
        claims = authority.claims
        if claims is not None:
            try:
                record = check_session(claims, actor.get(claims.record_attr), now)
            except (TokenRevoked, TokenExpired):
                self.sessions.end(session.id)
                raise InvalidCredentialUpdate(BEGINNER_GONE) from None
            if claims.kind != "api" and not record.privileged_at(now):
                raise ReadOnlySession(WINDOW_OVER)
        refusal = txn.modify_refusal(
            account_identity(authority.actor_uuid, read_only=False), entry, ["password"],
            f"you may no longer change the credentials of {entry.first('name')!r}",
        )
        if refusal is not None:
            self.sessions.end(session.id)
            raise AccessDenied(refusal)
        if session.may_unix and not txn.can_modify(
            account_identity(authority.unix_by, read_only=False), entry, ["unix_password"]
        ):
            session.may_unix = False
            if session.stages_unix():
                self.sessions.end(session.id)
                raise AccessDenied(
                    "you may no longer change the unix credential of this account: begin again"
                )
        return entry

    def _totp_target(
        self, session: UpdateSession, label: str, *, unix: bool
    ) -> tuple[TotpAttr, str, Entry]:
        """The attribute, checked label and account a TOTP change in ``session`` is about.

        Errors: ``AccessDenied`` (the unix credential without the right), ``InvalidValue``.
        """
        attr: TotpAttr = "unix_totp" if unix else "totp"
        if unix and not session.may_unix:
            raise AccessDenied("you may not change the unix credential of this account")
        label = validate_totp_label(label)
        with self._server.read() as txn:
            return attr, label, self._account(txn, session)

    def _status(self, txn: ReadTxn, session: UpdateSession) -> JSON:
        entry = self._account(txn, session)
        return session.status(
            entry,
            min_credential=account_policy(txn, entry).min_credential,
            expires_at=self.sessions.expires_at(session),
        )

    def status(self, session_id: object) -> JSON:
        session = self._use(session_id)
        with self._server.read() as txn:
            return self._status(txn, session)

    async def set_password(
        self, session_id: object, attr: PasswordAttr, password: Secret
    ) -> JSON:
        """Vet and hash ``password`` and stage it as the account's ``attr``.

        Errors: ``InvalidValue`` (``passwords.validate_password``, checked first),
        ``PasswordRejected`` (the policy's reason), ``AccessDenied`` (the unix password
        without the right to it).
        """
        password = validate_password(password)
        session = self._use(session_id)
        if attr == "unix_password" and not session.may_unix:
            raise AccessDenied("you may not change the unix password of this account")
        with self._server.read() as txn:
            entry = self._account(txn, session)
        second = session.has_second_factor(GUARD[attr], entry)
        await self._vet(self._server, entry.uuid, password, has_second_factor=second)
        phc = await self._hasher.hash(password)
        # The session (or its right) may have ended while this task waited for the vetting
        # and hashing.
        session = self._use(session_id)
        session.passwords[attr] = StagedPassword(phc, vetted_with_second_factor=second)
        return self.status(session_id)

    def begin_totp(
        self,
        session_id: object,
        label: str,
        *,
        unix: bool,
        algorithm: object = DEFAULT_TOTP_ALGORITHM,
    ) -> TotpEnrolment:
        """A fresh TOTP for the person's app, pending until ``confirm_totp`` (replacing any
        other pending one). Errors: ``InvalidValue`` (``totp.validate_algorithm``, before the
        session is looked up), ``Conflict`` (the label is taken), ``InvalidRequest`` (too many
        TOTPs), ``AccessDenied`` (unix without the right)."""
        valid_algorithm = totp.validate_algorithm(algorithm)
        session = self._use(session_id)
        attr, label, entry = self._totp_target(session, label, unix=unix)
        labels = session.totp_labels(attr, entry)
        if label in labels:
            raise Conflict(f"there is a TOTP labelled {label!r} already: remove it first")
        if len(labels) >= limits.MAX_TOTPS_PER_CREDENTIAL:
            raise InvalidRequest(
                f"a credential may have at most {limits.MAX_TOTPS_PER_CREDENTIAL} TOTPs"
            )
        record = totp.new_record(label, valid_algorithm)
        session.pending_totp = PendingTotp(attr, record)
        account = str(entry.first("spn")) + (" (unix)" if unix else "")
        return TotpEnrolment(
            label=label,
            secret=Secret(record.secret),
            uri=totp.provisioning_uri(record, account, self._issuer),
            algorithm=record.algorithm,
            digits=record.digits,
            step=record.step,
        )

    def confirm_totp(self, session_id: object, code: str) -> JSON:
        """Stage the pending TOTP once ``code`` shows the app has it (falling back to SHA-1
        for apps that ignore the algorithm). Errors: ``InvalidRequest`` (none pending),
        ``InvalidValue`` (the code does not match; the TOTP stays pending)."""
        session = self._use(session_id)
        pending = session.pending_totp
        if pending is None:
            raise InvalidRequest("no TOTP is being added in this session: begin one first")
        confirmed = totp.confirm(pending.record, code, self._clock.now())
        if confirmed is None:
            raise InvalidValue(
                "the code does not match this TOTP: type the code the app shows now, and "
                "check the device's clock"
            )
        session.pending_totp = None
        session.totp_removed[pending.attr].discard(confirmed.label)
        session.totp_added[pending.attr][confirmed.label] = confirmed
        return self.status(session_id)

    def remove_totp(self, session_id: object, label: str, *, unix: bool) -> tuple[bool, JSON]:
        """Stage the removal of the TOTP ``label``; whether there was one to remove."""
        session = self._use(session_id)
        attr, label, entry = self._totp_target(session, label, unix=unix)
        if label not in session.totp_labels(attr, entry):
            return False, self.status(session_id)
        if session.totp_added[attr].pop(label, None) is None:
            session.totp_removed[attr].add(label)
        return True, self.status(session_id)

    def generate_backup_codes(self, session_id: object) -> tuple[list[Secret], JSON]:
        """Fresh backup codes (shown once, staged hashed) replacing the current ones.

        Errors: ``InvalidRequest`` when the account will have no TOTP to stand in for.
        """
        session = self._use(session_id)
        with self._server.read() as txn:
            entry = self._account(txn, session)
        if not session.has_second_factor("totp", entry):
            raise InvalidRequest("backup codes stand in for a TOTP code: add a TOTP first")
        codes = totp.generate_backup_codes()
        session.backup_codes = frozenset(totp.hash_backup_code(code.reveal()) for code in codes)
        return codes, self.status(session_id)

    # -- passkeys --------------------------------------------------------------------------

    def begin_passkey(self, session_id: object, label: str) -> JSON:
        """Creation options for a new passkey ``label`` (the JSON form the browser's
        ``PublicKeyCredential.parseCreationOptionsFromJSON`` takes), pending until
        ``finish_passkey`` (replacing any other pending one).

        Errors: ``InvalidValue`` (the label), ``Conflict`` (the label is taken),
        ``InvalidRequest`` (the account has ``MAX_PASSKEYS_PER_ACCOUNT``).
        """
        label = passkeys.validate_passkey_label(label)
        session = self._use(session_id)
        with self._server.read() as txn:
            entry = self._account(txn, session)
        self._check_room(session, entry, label)
        name = str(entry.first("spn") or entry.first("name"))
        display = str(entry.first("displayname") or entry.first("name"))
        options, ceremony = self._rp.registration(
            entry.uuid, name, display, self._known_passkeys(session, entry)
        )
        session.pending_passkey = PendingPasskey(label, ceremony)
        return options

    @staticmethod
    def _check_room(session: UpdateSession, entry: Entry, label: str) -> None:
        """Refuse a new passkey ``label`` that is taken, or one past the account's limit.

        Errors: ``Conflict``, ``InvalidRequest``.
        """
        records = session.passkey_records(entry)
        if any(r.label == label for r in records):
            raise Conflict(f"there is a passkey labelled {label!r} already: choose another name")
        if len(records) >= passkeys.MAX_PASSKEYS_PER_ACCOUNT:
            raise InvalidRequest(
                f"an account may have at most {passkeys.MAX_PASSKEYS_PER_ACCOUNT} passkeys: "
                "remove one first"
            )

    @staticmethod
    def _known_passkeys(session: UpdateSession, entry: Entry) -> list[passkeys.PasskeyRecord]:
        """Every passkey the account holds or this session stages (``excludeCredentials``:
        an authenticator enrolled once is not enrolled again, which would also overwrite
        its first credential)."""
        stored = passkeys.records(entry.get("passkey"))
        return [*stored, *session.passkeys_added.values()]

    def finish_passkey(self, session_id: object, response: object) -> JSON:
        """Stage the passkey of the browser's answer (``credential.toJSON()``) to the
        pending creation options; the status.

        Errors: ``InvalidRequest`` (none pending), ``InvalidValue`` (what was wrong with the
        answer: its origin, challenge, user verification, ...), ``Conflict`` (the
        authenticator's credential is enrolled already). The pending ceremony is over
        either way: a new one begins with ``begin_passkey``.
        """
        session = self._use(session_id)
        pending = session.pending_passkey
        if pending is None:
            raise InvalidRequest("no passkey is being added in this session: begin one first")
        session.pending_passkey = None
        record = self._rp.finish_registration(
            pending.ceremony, response, label=pending.label, now=self._clock.now()
        )
        with self._server.read() as txn:
            entry = self._account(txn, session)
        if any(r.credential_id == record.credential_id
               for r in self._known_passkeys(session, entry)):
            raise Conflict("this authenticator's passkey is enrolled already")
        # Asked again: the session may have staged another passkey meanwhile.
        self._check_room(session, entry, record.label)
        session.stage_passkey(record)
        return self.status(session_id)

    def rename_passkey(self, session_id: object, label: str, new_label: str) -> JSON:
        """Stage a new label for the passkey ``label``; the status.

        Errors: ``InvalidValue`` (a label), ``NotFound`` (no such passkey), ``Conflict``
        (``new_label`` is taken).
        """
        label = passkeys.validate_passkey_label(label)
        new_label = passkeys.validate_passkey_label(new_label)
        session = self._use(session_id)
        with self._server.read() as txn:
            entry = self._account(txn, session)
        record = session.stored_passkey(entry, label)
        if record is None:
            raise NotFound(f"there is no passkey labelled {label!r}")
        if new_label != label:
            if session.stored_passkey(entry, new_label) is not None:
                raise Conflict(f"there is a passkey labelled {new_label!r} already")
            session.unstage_passkey(entry, label)
            session.stage_passkey(replace(record, label=new_label))
        return self.status(session_id)

    def remove_passkey(self, session_id: object, label: str) -> tuple[bool, JSON]:
        """Stage the removal of the passkey ``label``; whether there was one, and the status.
        Errors: ``InvalidValue`` (the label)."""
        label = passkeys.validate_passkey_label(label)
        session = self._use(session_id)
        with self._server.read() as txn:
            entry = self._account(txn, session)
        if session.stored_passkey(entry, label) is None:
            return False, self.status(session_id)
        session.unstage_passkey(entry, label)
        return True, self.status(session_id)

    # -- reading without a session ---------------------------------------------------------

    def overview(self, caller: Caller) -> JSON:
        """The caller's own account in the shape of ``status`` with nothing staged
        (``expires_at`` is null: there is no session). Errors: ``AccessDenied`` (anonymous,
        or an account that is not a person), ``TokenRevoked`` (the account is gone)."""
        uuid = caller.claims.account_uuid
        with self._server.read() as txn:
            entry = txn.get(uuid)
            if entry is None:
                raise TokenRevoked("this session has been ended; log in again")
            if "person" not in entry.get("class"):
                raise AccessDenied("only a person has credentials to look after here")
            writer = account_identity(uuid, read_only=False)
            transient = UpdateSession(
                id="",
                account_uuid=uuid,
                may_unix=txn.can_modify(writer, entry, ["unix_password"]),
                authority=Authority(actor_uuid=uuid, unix_by=uuid),
                last_used=self._clock.now(),
            )
            view = transient.status(
                entry,
                min_credential=account_policy(txn, entry).min_credential,
                expires_at=self._clock.now(),
            )
        view["expires_at"] = None
        return view

    def list_passkeys(self, caller: Caller, text: str) -> list[JSON]:
        """The passkeys of person ``text`` (label, created_at, last_used_at), for the person
        and whoever may change the person's credentials (an admin).

        Errors: ``NotFound``, ``AccessDenied``.
        """
        who = caller.identity.uuid
        if who is None:
            raise AccessDenied(f"you may not see the credentials of {text!r}")
        with self._server.read() as txn:
            entry = lookup.find_to_modify(
                txn, account_identity(who, read_only=False), ACCOUNT_CLASS, text, ["password"],
                f"you may not see the credentials of {text!r}",
            )
        return [record.view() for record in passkeys.records(entry.get("passkey"))]

    def commit(self, session_id: object) -> tuple[bool, int]:
        """Write everything staged in one transaction and end the session; whether the
        account changed, and how many of its other sessions that ended.

        Errors: those of ``_recheck``; ``MfaRequired``, ``PasswordRejected`` (both leave the
        session open to be fixed).
        """
        session = self.sessions.use(session_id)
        authority = session.authority
        with self._server.write() as txn:
            entry = self._recheck(txn, session)
            policy = account_policy(txn, entry)
            blocker = session.commit_blocker(entry, policy.min_credential)
            if blocker is not None:
                raise blocker
            _, changed = txn.modify(
                on_behalf_of(authority.actor_uuid), entry.uuid, session.mods(entry)
            )
            ended = 0
            if changed:
                ended = end_sessions(
                    txn, entry.uuid, now=self._clock.now(), keep=authority.keep_session
                )
        self.sessions.end(session.id)
        return changed, ended

    def cancel(self, session_id: object) -> None:
        """End the session; nothing staged is written."""
        self.sessions.end(self.sessions.use(session_id).id)
