"""Account policy: what the groups an account belongs to ask of its credentials and sessions.

A group may carry ``policy_min_credential`` (``password`` < ``mfa`` < ``passkey``),
``policy_session_lifetime`` and ``policy_privilege_lifetime`` (seconds) and
``policy_password_min_length``. An account is under the policy of every group it is a member
of, directly or through nesting (``memberof``), and gets the strictest of each: the strongest
credential type, the shortest lifetimes, the longest minimum length. Without any, the defaults
of ``idmd.limits`` hold.

This module reads groups with the server's own rights (a policy applies whoever asks) and
writes nothing; the login flow, the credential update sessions and the password policy ask it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from hermit_common.errors import InvalidValue
from idmd import limits
from idmd.entry import Entry
from idmd.server import ReadTxn

CredentialType = Literal["password", "mfa", "passkey"]
CREDENTIAL_TYPES: tuple[CredentialType, ...] = ("password", "mfa", "passkey")

POLICY_ATTRS = (
    "policy_min_credential",
    "policy_session_lifetime",
    "policy_privilege_lifetime",
    "policy_password_min_length",
)
# The API's name of each setting (docs/api.md "Group policy") and the attribute it is stored in.
POLICY_SETTINGS = {attr.removeprefix("policy_"): attr for attr in POLICY_ATTRS}


@dataclass(frozen=True)
class AccountPolicy:
    min_credential: CredentialType = "password"
    session_lifetime: int = limits.DEFAULT_SESSION_LIFETIME_SECONDS
    privilege_lifetime: int = limits.DEFAULT_PRIVILEGE_LIFETIME_SECONDS
    # What a policy asked for, or None: the password policy adds the single-factor rule.
    password_min_length: int | None = None

    def min_password_length(self, *, has_second_factor: bool) -> int:
        """The shortest password this account may set (NIST SP 800-63B 5.1.1.2)."""
        floor = self.password_min_length or limits.DEFAULT_MIN_PASSWORD_CHARS
        if not has_second_factor:
            floor = max(floor, limits.SINGLE_FACTOR_MIN_PASSWORD_CHARS)
        return max(floor, limits.ABSOLUTE_MIN_PASSWORD_CHARS)


def _int(entry: Entry, attr: str) -> int | None:
    value = entry.first(attr)
    return int(value) if value is not None and value.isdigit() else None


def strictest(policies: list[AccountPolicy]) -> AccountPolicy:
    """The strictest of each setting among ``policies`` (the defaults when empty)."""
    result = AccountPolicy()
    for policy in policies:
        min_credential = max(
            result.min_credential, policy.min_credential, key=CREDENTIAL_TYPES.index
        )
        lengths = [n for n in (result.password_min_length, policy.password_min_length) if n]
        result = AccountPolicy(
            min_credential=min_credential,
            session_lifetime=min(result.session_lifetime, policy.session_lifetime),
            privilege_lifetime=min(result.privilege_lifetime, policy.privilege_lifetime),
            password_min_length=max(lengths) if lengths else None,
        )
    return result


def group_policy(group: Entry) -> AccountPolicy | None:
    """The policy one group carries, or ``None`` when it carries none."""
    if not any(group.get(attr) for attr in POLICY_ATTRS):
        return None
    raw = group.first("policy_min_credential")
    min_credential: CredentialType = raw if raw in CREDENTIAL_TYPES else "password"
    session = _int(group, "policy_session_lifetime")
    privilege = _int(group, "policy_privilege_lifetime")
    return AccountPolicy(
        min_credential=min_credential,
        session_lifetime=session or limits.DEFAULT_SESSION_LIFETIME_SECONDS,
        privilege_lifetime=privilege or limits.DEFAULT_PRIVILEGE_LIFETIME_SECONDS,
        password_min_length=_int(group, "policy_password_min_length"),
    )


def account_policy(txn: ReadTxn, account: Entry) -> AccountPolicy:
    """The policy ``account`` is under: the strictest of its groups' policies."""
    found = []
    for uuid in sorted(account.get("memberof")):
        group = txn.get(uuid)
        if group is None:
            continue
        policy = group_policy(group)
        if policy is not None:
            found.append(policy)
    return strictest(found)


def validate_policy_value(attr: str, raw: object) -> str:
    """The stored form of one policy setting from a request. Errors: ``InvalidValue``."""
    if attr == "policy_min_credential":
        if raw not in CREDENTIAL_TYPES:
            raise InvalidValue("min_credential must be one of password, mfa, passkey")
        return str(raw)
    bounds = {
        "policy_session_lifetime": (
            limits.MIN_POLICY_LIFETIME_SECONDS, limits.MAX_SESSION_LIFETIME_SECONDS
        ),
        "policy_privilege_lifetime": (
            limits.MIN_POLICY_LIFETIME_SECONDS, limits.MAX_PRIVILEGE_LIFETIME_SECONDS
        ),
        "policy_password_min_length": (
            limits.ABSOLUTE_MIN_PASSWORD_CHARS, limits.MAX_POLICY_PASSWORD_CHARS
        ),
    }
    if attr not in bounds:
        raise InvalidValue(f"{attr} is not a policy setting")
    low, high = bounds[attr]
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise InvalidValue(f"{attr.removeprefix('policy_')} must be a whole number {low}-{high}")
    return str(raw)


def validate_policy_changes(raw: Mapping[str, object]) -> dict[str, str | None]:
    """The settings a request changes (``POLICY_SETTINGS``' keys; ``None`` clears one), as
    policy attributes and their stored forms. Errors: ``InvalidValue``."""
    changes: dict[str, str | None] = {}
    for key, value in raw.items():
        attr = POLICY_SETTINGS.get(key)
        if attr is None:
            raise InvalidValue(f"{key} is not a policy setting")
        changes[attr] = None if value is None else validate_policy_value(attr, value)
    return changes
