"""The builtin schema: attribute types (syntax, multi-value, unique, indexes) and classes.

Implements notes/storage_api.md "Builtin schema" and "Classes". What it does not do: checks
that need other entries (uniqueness, references, memberof) are plugins; who may write what is
``access``.

Rules for an entry (``validate_entry``):
- every attribute is known, every value is in its stored form, single-valued ones hold one;
- every class is known; ``object`` is always present; ``person`` and ``service_account`` imply
  ``account``; ``posix_account`` requires ``account`` and ``posix_group`` requires ``group``;
- exactly one structural class (account, group, access_control_profile);
- each class's must attributes are present, and every attribute is allowed by some class;
- ssh_publickey labels are unique within the entry, and an entry holds a bounded number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hermit_common.errors import InvalidValue
from idmd.errors import InvalidAttribute, SchemaViolation
from idmd.limits import MAX_SSH_KEYS_PER_ACCOUNT
from idmd.value import Syntax, normalise, ssh_key_label

EQ, PRES, SUB = "eq", "pres", "sub"


@dataclass(frozen=True, slots=True)
class AttributeType:
    name: str
    syntax: Syntax
    multi: bool = False
    unique: bool = False
    indexes: frozenset[str] = frozenset()
    # Computed by the server (spn, memberof): no caller of create/modify may write it.
    computed: bool = False
    # Never returned by a search, whatever the access profiles say.
    secret: bool = False


def _a(name: str, syntax: Syntax, *idx: str, **flags: bool) -> AttributeType:
    return AttributeType(name, syntax, indexes=frozenset(idx), **flags)


ATTRIBUTES: dict[str, AttributeType] = {
    a.name: a
    for a in (
        _a("class", Syntax.INAME, EQ, PRES, multi=True),
        _a("uuid", Syntax.UUID, EQ, PRES, unique=True),
        _a("name", Syntax.INAME, EQ, SUB, PRES, unique=True),
        _a("spn", Syntax.INAME, EQ, unique=True, computed=True),
        _a("displayname", Syntax.UTF8, EQ, SUB),
        _a("description", Syntax.UTF8),
        _a("mail", Syntax.MAIL, EQ, multi=True, unique=True),
        _a("member", Syntax.REFERENCE, EQ, multi=True),
        _a("memberof", Syntax.REFERENCE, EQ, multi=True, computed=True),
        _a("directmemberof", Syntax.REFERENCE, EQ, multi=True, computed=True),
        _a("managed_by", Syntax.REFERENCE, EQ),
        _a("gidnumber", Syntax.UINT32, EQ, PRES, unique=True),
        _a("loginshell", Syntax.PATH),
        _a("ssh_publickey", Syntax.SSH_KEY, multi=True),
        _a("valid_from", Syntax.TIME),
        _a("expire_at", Syntax.TIME),
        _a("password", Syntax.CREDENTIAL, secret=True),
        _a("unix_password", Syntax.CREDENTIAL, secret=True),
        _a("auth_session", Syntax.SESSION, multi=True, secret=True),
        # Credentials beyond the password (idmd/idm/credentials/totp.py, credentials/staging.py,
        # auth/apitokens.py):
        # TOTP records ({"id": label, ...}) on the primary and on the unix credential,
        # single-use backup codes (salted hashes), one pending reset token, API tokens.
        _a("totp", Syntax.SESSION, multi=True, secret=True),
        _a("unix_totp", Syntax.SESSION, multi=True, secret=True),
        _a("backup_code", Syntax.CREDENTIAL, multi=True, secret=True),
        _a("reset_token", Syntax.SESSION, secret=True),
        _a("api_token", Syntax.SESSION, multi=True, secret=True),
        # Passkeys (idmd/idm/credentials/passkeys.py): one JSON record per label (the WebAuthn
        # credential, its signature counter, created and last used); written by a credential
        # update's commit, and by a login for the counter.
        _a("passkey", Syntax.SESSION, multi=True, secret=True),
        # Account policy carried by a group (idmd/idm/policy/account.py); members get the strictest.
        _a("policy_min_credential", Syntax.INAME),
        _a("policy_session_lifetime", Syntax.UINT32),
        _a("policy_privilege_lifetime", Syntax.UINT32),
        _a("policy_password_min_length", Syntax.UINT32),
        # The password badlist (idmd/idm/policy/badlist.py), on the one system_config entry.
        _a("badlist_password", Syntax.UTF8, multi=True),
        _a("acp_receiver", Syntax.REFERENCE, EQ, multi=True),
        _a("acp_receiver_all", Syntax.BOOL),
        _a("acp_target", Syntax.FILTER),
        _a("acp_search_attr", Syntax.INAME, multi=True),
        _a("acp_modify_attr", Syntax.INAME, multi=True),
        _a("acp_modify_class", Syntax.INAME, multi=True),
        _a("acp_create_class", Syntax.INAME, multi=True),
        _a("acp_create_attr", Syntax.INAME, multi=True),
        _a("acp_delete", Syntax.BOOL),
    )
}

REFERENCE_ATTRS = frozenset(a.name for a in ATTRIBUTES.values() if a.syntax is Syntax.REFERENCE)
UNIQUE_ATTRS = frozenset(a.name for a in ATTRIBUTES.values() if a.unique)
COMPUTED_ATTRS = frozenset(a.name for a in ATTRIBUTES.values() if a.computed)
SECRET_ATTRS = frozenset(a.name for a in ATTRIBUTES.values() if a.secret)
INDEXES: dict[str, frozenset[str]] = {n: a.indexes for n, a in ATTRIBUTES.items() if a.indexes}


@dataclass(frozen=True, slots=True)
class ClassType:
    name: str
    must: frozenset[str] = frozenset()
    may: frozenset[str] = frozenset()
    # Classes this one brings along (added by the base plugin when missing).
    implies: frozenset[str] = frozenset()
    # Classes that must already be present (a posix account is an account first).
    requires: frozenset[str] = frozenset()


def _c(
    name: str, must: str = "", may: str = "", implies: str = "", requires: str = ""
) -> ClassType:
    return ClassType(
        name, frozenset(must.split()), frozenset(may.split()),
        frozenset(implies.split()), frozenset(requires.split()),
    )


CLASSES: dict[str, ClassType] = {
    c.name: c
    for c in (
        _c("object", "class uuid"),
        _c("account", "name spn displayname",
           "mail ssh_publickey valid_from expire_at password unix_password auth_session"
           " totp unix_totp backup_code reset_token api_token passkey memberof directmemberof"),
        _c("person", implies="account"),
        _c("service_account", may="managed_by", implies="account"),
        _c("group", "name spn",
           "description member memberof directmemberof policy_min_credential"
           " policy_session_lifetime policy_privilege_lifetime policy_password_min_length"),
        _c("posix_account", "gidnumber", "loginshell", requires="account"),
        _c("posix_group", "gidnumber", requires="group"),
        _c("access_control_profile", "name spn acp_target",
           "description acp_receiver acp_receiver_all acp_search_attr acp_modify_attr"
           " acp_modify_class acp_create_class acp_create_attr acp_delete"),
        _c("system_config", "name spn", "description badlist_password"),
        _c("builtin"),
    )
}
STRUCTURAL_CLASSES = frozenset({"account", "group", "access_control_profile", "system_config"})


def attribute(name: str) -> AttributeType:
    """The type of ``name``. Errors: ``InvalidAttribute`` for an attribute the schema lacks."""
    try:
        return ATTRIBUTES[name]
    except KeyError:
        raise InvalidAttribute(f"unknown attribute {name!r}") from None


def normalise_value(attr: str, raw: object) -> str:
    """The stored form of one value of ``attr``. Errors: InvalidAttribute, InvalidValue."""
    atype = attribute(attr)
    if attr == "spn":
        return _spn(raw)
    return normalise(atype.syntax, attr, raw)


def _spn(raw: object) -> str:
    # spn is "name@domain": the name part has INAME's shape, the domain is the server's.
    if not isinstance(raw, str):
        raise InvalidValue("spn: a value must be a string")
    name, at, domain = raw.lower().partition("@")
    if not at or not domain:
        raise InvalidValue("spn: must be name@domain")
    return f"{normalise(Syntax.INAME, 'spn', name)}@{domain}"


def normalise_lenient(attr: str, raw: str) -> str:
    """For filter values: the stored form, or ``raw`` itself when it is not a valid value."""
    try:
        return normalise_value(attr, raw)
    except (InvalidAttribute, InvalidValue):
        return raw


def indexes_of(attr: str) -> frozenset[str]:
    return INDEXES.get(attr, frozenset())


def normalise_attrs(attrs: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Normalise every attribute name and value. Errors: InvalidAttribute, InvalidValue."""
    result: dict[str, set[str]] = {}
    for raw_attr, values in attrs.items():
        attr = raw_attr.lower() if isinstance(raw_attr, str) else raw_attr
        attribute(attr)
        if isinstance(values, str):
            raise InvalidValue(f"{attr}: values must be given as a list")
        normalised = {normalise_value(attr, v) for v in values}
        if normalised:  # an empty list means "no values", as if the attribute were absent
            result.setdefault(attr, set()).update(normalised)
    return result


def complete_classes(classes: Iterable[str]) -> set[str]:
    """``classes`` with ``object`` and every implied class added."""
    result = set(classes) | {"object"}
    pending = list(result)
    while pending:
        ctype = CLASSES.get(pending.pop())
        if ctype is None:
            continue
        for implied in ctype.implies - result:
            result.add(implied)
            pending.append(implied)
    return result


def validate_entry(attrs: Mapping[str, Iterable[str]], *, check_values: bool = True) -> None:
    """Check one entry against the schema (see the module docstring).

    ``check_values=False`` skips re-normalising every value, for entries whose values were
    normalised on their way in (the write path); verify always checks them.
    Errors: ``InvalidAttribute``, ``InvalidValue``, ``SchemaViolation``.
    """
    classes = set(attrs.get("class", ()))
    for attr, values in attrs.items():
        atype = attribute(attr)
        vals = list(values)
        if not vals:
            raise SchemaViolation(f"{attr} is present without a value")
        if not atype.multi and len(vals) > 1:
            raise SchemaViolation(f"{attr} holds one value only")
        for v in vals if check_values else ():
            if normalise_value(attr, v) != v:
                raise InvalidValue(f"{attr}: a value is not in its stored form")
    unknown = classes - CLASSES.keys()
    if unknown:
        raise SchemaViolation(f"unknown class {sorted(unknown)[0]!r}")
    if "object" not in classes:
        raise SchemaViolation("every entry has the class object")
    structural = classes & STRUCTURAL_CLASSES
    if len(structural) != 1:
        raise SchemaViolation(
            "an entry has exactly one of the classes account, group, access_control_profile,"
            " system_config"
        )
    allowed: set[str] = set()
    for cls in classes:
        ctype = CLASSES[cls]
        missing_cls = (ctype.implies | ctype.requires) - classes
        if missing_cls:
            raise SchemaViolation(f"class {cls} requires class {sorted(missing_cls)[0]}")
        missing = ctype.must - attrs.keys()
        if missing:
            raise SchemaViolation(f"class {cls} requires {sorted(missing)[0]}")
        allowed |= ctype.must | ctype.may
    extra = attrs.keys() - allowed
    if extra:
        raise SchemaViolation(f"{sorted(extra)[0]} is not allowed on this entry's classes")
    if "access_control_profile" in classes and not (
        "acp_receiver" in attrs or "acp_receiver_all" in attrs
    ):
        raise SchemaViolation("an access control profile needs acp_receiver or acp_receiver_all")
    keys = list(attrs.get("ssh_publickey", ()))
    if len(keys) > MAX_SSH_KEYS_PER_ACCOUNT:
        raise SchemaViolation(f"an account holds at most {MAX_SSH_KEYS_PER_ACCOUNT} ssh keys")
    labels = [ssh_key_label(k) for k in keys]
    if len(set(labels)) != len(labels):
        raise SchemaViolation("ssh_publickey labels must be unique within an entry")
