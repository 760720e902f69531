"""The password policy: whether a person may set this password on this account.

What it owns: the rules a new password must pass, after NIST SP 800-63B 5.1.1.2 "Memorized
Secret Verifiers". It stores nothing and hashes nothing (``credentials.passwords``), keeps the
badlist in no file (``badlist`` reads it from the ``system_config`` entry) and decides no
minimum length of its own (``account.account_policy`` does, from the account's groups).
Generated passwords are not vetted: they are random by construction.

Rules, checked in this order (the first that fails is the answer):
1. Length in characters (Unicode code points): at least the account's minimum, which is longer
   without a second factor (``AccountPolicy.min_password_length``); at most
   ``MAX_PASSWORD_BYTES`` bytes of UTF-8. No composition rules (NIST: "SHOULD NOT impose other
   composition rules").
2. No related input: the account's name, the name part of its spn, the words of its display
   name and the local parts of its mail addresses (and their words), compared casefolded, may
   not appear anywhere in the password. Only tokens of at least ``MIN_RELATED_TOKEN_CHARS``
   count, so a name like "al" or "li" does not ban every password holding those letters;
   shorter tokens still lower the strength estimate (rule 4 is given them).
3. The badlist: the casefolded password may not equal a badlist word, nor equal one once its
   trailing digits and symbols are stripped, one at a time ("Password123!" is "password" with
   the usual decoration, "trustno1!" is "trustno1" with one more; NIST: "values known to be
   commonly-used, expected, or compromised").
4. Strength: zxcvbn's score must reach ``MIN_ZXCVBN_SCORE`` (3: at least 10^8 guesses, its
   "safely unguessable" band against an online and slow-hash attacker). zxcvbn is handed the
   related tokens and at most ``ZXCVBN_MAX_CHARS`` characters (it refuses longer input, and its
   matching grows quickly with length; a password that long passes rule 4 on its prefix).

Every refusal is ``PasswordRejected`` with a detail a person can act on (which rule, the number
to reach, zxcvbn's warning and suggestions). No detail ever quotes the password or the part of
it that matched.

Blocking: zxcvbn takes milliseconds on a long password; the check runs on a worker thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import trio
from zxcvbn import zxcvbn  # type: ignore[import-untyped]

from hermit_common.secret import Secret
from idmd import limits
from idmd.entry import Entry
from idmd.errors import NotFound, PasswordRejected
from idmd.idm.policy import account as policy
from idmd.idm.policy import badlist
from idmd.server import QueryServer, ReadTxn

# Related tokens shorter than this are not searched for in the password (see rule 2).
MIN_RELATED_TOKEN_CHARS = 4
# zxcvbn's scores run 0-4; 3 means "safely unguessable: moderate protection from an offline
# slow-hash scenario" (at least 10^8 guesses).
MIN_ZXCVBN_SCORE = 3
# zxcvbn raises ValueError beyond its max_length of 72; we hand it at most this many.
ZXCVBN_MAX_CHARS = 72

_WORD_SPLIT = re.compile(r"[^\w]+|_")
# What a person typically appends to a common word: digits, punctuation, symbols, spaces.
_TRAILING_DECORATION = re.compile(r"[\W\d_]+$")


@dataclass(frozen=True)
class PasswordContext:
    """What the rules need to know about the account, read once from the database."""

    min_length: int
    # (where it came from, casefolded token) pairs, e.g. ("the display name", "alice").
    related: tuple[tuple[str, str], ...]
    badlist: frozenset[str]


def related_tokens(account: Entry) -> tuple[tuple[str, str], ...]:
    """The account's related input of rule 2, each with the field it came from."""
    found: dict[str, str] = {}

    def note(field: str, text: str) -> None:
        pieces = [text, *_WORD_SPLIT.split(text)]
        for piece in pieces:
            token = piece.casefold()
            if token and token not in found:
                found[token] = field

    for name in account.get("name"):
        note("the account's name", name)
    for spn in account.get("spn"):
        note("the account's name", spn.rpartition("@")[0] or spn)
    for displayname in account.get("displayname"):
        for word in displayname.split():
            note("the display name", word)
    for mail in account.get("mail"):
        note("a mail address", mail.rpartition("@")[0] or mail)
    return tuple((field, token) for token, field in found.items())


def context_for(txn: ReadTxn, account: Entry, *, has_second_factor: bool) -> PasswordContext:
    account_policy = policy.account_policy(txn, account)
    return PasswordContext(
        min_length=account_policy.min_password_length(has_second_factor=has_second_factor),
        related=related_tokens(account),
        badlist=badlist.words(txn),
    )


def _strength_feedback(result: dict[str, object]) -> str:
    feedback = result.get("feedback")
    parts: list[str] = []
    if isinstance(feedback, dict):
        warning = feedback.get("warning")
        if isinstance(warning, str) and warning:
            parts.append(warning.rstrip("."))
        suggestions = feedback.get("suggestions")
        if isinstance(suggestions, list):
            parts.extend(str(s).rstrip(".") for s in suggestions if s)
    if not parts:
        parts.append("Add another word or two; uncommon words are better")
    return ". ".join(parts)


def _undecorated(folded: str) -> list[str]:
    """``folded`` and each of its prefixes that leaves only digits and symbols behind."""
    decoration = _TRAILING_DECORATION.search(folded)
    start = decoration.start() if decoration is not None else len(folded)
    return [folded[:end] for end in range(len(folded), max(start, 1) - 1, -1)]


def check_password(password: str, context: PasswordContext) -> None:
    """Apply the module's rules in order. Errors: ``PasswordRejected``. Blocks (zxcvbn)."""
    if len(password) < context.min_length:
        raise PasswordRejected(
            f"the password is too short: this account's passwords need at least "
            f"{context.min_length} characters"
        )
    if len(password.encode("utf-8", "surrogatepass")) > limits.MAX_PASSWORD_BYTES:
        raise PasswordRejected(
            f"the password is too long: at most {limits.MAX_PASSWORD_BYTES} bytes of UTF-8"
        )
    folded = password.casefold()
    for field, token in context.related:
        if len(token) >= MIN_RELATED_TOKEN_CHARS and token in folded:
            raise PasswordRejected(f"the password contains {field}; choose one that does not")
    if any(candidate in context.badlist for candidate in _undecorated(folded)):
        raise PasswordRejected(
            "the password is on the list of common passwords (perhaps with digits or symbols "
            "added); choose a less common one, such as a few unrelated words"
        )
    result = zxcvbn(
        password[:ZXCVBN_MAX_CHARS],
        user_inputs=[token for _field, token in context.related],
        max_length=ZXCVBN_MAX_CHARS,
    )
    if int(result["score"]) < MIN_ZXCVBN_SCORE:
        raise PasswordRejected(
            f"the password is too easy to guess: {_strength_feedback(result)}"
        )


async def vet_password(
    server: QueryServer,
    account_uuid: str,
    password: Secret,
    *,
    has_second_factor: bool | None = None,
) -> Secret:
    """``password`` itself if the policy lets ``account_uuid`` set it.

    ``has_second_factor=None`` means whether the account has a ``totp`` now.

    Errors: ``PasswordRejected`` (the detail says what to change), ``NotFound`` (no such
    account).
    """
    with server.read() as txn:
        account = txn.get(account_uuid)
        if account is None or not account.has_class("account"):
            raise NotFound("no such account")
        if has_second_factor is None:
            has_second_factor = bool(account.get("totp"))
        context = context_for(txn, account, has_second_factor=has_second_factor)
    await trio.to_thread.run_sync(check_password, password.reveal(), context)
    return password
