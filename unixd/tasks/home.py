"""Creating home directories and their alias symlinks under ``home_prefix``, safely, as root.

This module owns every file-system change hermit-unixd-tasks makes: the home directory of an
account (optionally filled from /etc/skel), its alias symlink, and removing aliases left by a
rename. It does not decide which paths an account gets (unixd does, from ``home_attr`` and
``home_alias``) and does no I/O besides the file system.

Rules (DESIGN.md, "Security invariants": home directories only under the configured prefix,
never through a symlink a user planted, mode 0700 or 0750, owned by the account):
- Every path in a request is ``<home_prefix>/<one component>``; a component is non-empty, has
  no ``/`` or NUL, is not ``.`` or ``..`` and does not start with ``.`` (hermit's temporary
  names do). Anything else refuses the whole request before the first change.
- The prefix is opened once with ``O_DIRECTORY|O_NOFOLLOW``, and it must belong to root and
  not be writable by group or others (as sshd's StrictModes asks of a home): then nobody but
  root can plant or swap anything directly inside it between our checks and our changes.
  Every later call is relative to that descriptor (``*at`` calls through ``dir_fd``) and
  never follows a symlink.
- The home is built under a temporary name, root-owned and 0700 (so its owner cannot touch
  it half-built), filled from /etc/skel, given to the account, then renamed into place: it
  appears complete or not at all. A failure removes the temporary tree.
- An existing home is accepted as it is if it is a real directory owned by the account (never
  chowned or chmodded: its owner's choices stand); a symlink, a file, or a directory of
  another owner at the home path refuses the request.
- The skel copy opens nothing with symlinks followed: directories and files are copied with
  their permission bits (set-id bits dropped), symlinks are copied as symlinks, anything else
  (fifos, devices) is skipped; all of it is owned by the account.
- The alias is created or replaced atomically: a symlink under a temporary name in the prefix
  renamed over the alias. It replaces only hermit's own alias ("ours": a symlink owned by root
  whose target is ``<home_prefix>/<one component>``); a directory, a file or a foreign symlink
  at the alias path is left alone and the request answers an error (the home still exists).
- An old alias is removed only if it is ours and still points at this account's home: after a
  rename the old name may already belong to another account, whose alias it then is.
- Accounts are never root or a system account: uid and gid are at least ``MIN_ACCOUNT_ID``.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import stat
from pathlib import Path

from hermit_common.errors import HermitError
from unixd.proto import limits
from unixd.proto.tasks import HomeCreate

log = logging.getLogger(__name__)

HOME_MODE = 0o700
# Debian's SYS_UID_MAX is 999 (and systemd's SYSTEM_UID_MAX); idmd allocates gidnumbers
# outside every reserved range, so a request below this is not an account hermit made.
MIN_ACCOUNT_ID = 1000
# /etc/skel is root's and shallow; the bound only keeps a loop or a mistake finite.
MAX_SKEL_DEPTH = 32
# NAME_MAX: the longest single path component Linux file systems take.
MAX_COMPONENT_BYTES = 255
TEMP_HOME_PREFIX = ".hermit-new-"
TEMP_ALIAS_PREFIX = ".hermit-alias-"
DEFAULT_SKEL = Path("/etc/skel")

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class HomeRefused(HermitError):
    """A home_create request that breaks a rule above; its message goes back to unixd."""


def create_home(request: HomeCreate, prefix: Path, *, skel: Path = DEFAULT_SKEL) -> None:
    """Make ``request.home`` exist for the account, set its alias, drop its old aliases.

    Blocking: file-system work; call through ``trio.to_thread.run_sync``.
    Errors: ``HomeRefused`` for a request or a file-system state the rules refuse; ``OSError``
    when the file system fails. Either way no temporary file is left behind.
    """
    root = str(prefix).rstrip("/")
    for account_id, what in ((request.uid, "uid"), (request.gid, "gid")):
        if not MIN_ACCOUNT_ID <= account_id <= limits.MAX_ID:
            raise HomeRefused(f"{what} {account_id} is not an account id (below "
                              f"{MIN_ACCOUNT_ID} or out of range)")
    home = component_of(request.home, root, "home")
    alias = None if request.alias is None else component_of(request.alias, root, "alias")
    if alias == home:
        raise HomeRefused("the alias may not be the home directory itself")
    old_aliases = [component_of(path, root, "old_aliases") for path in request.old_aliases]

    prefix_fd = _open_prefix(prefix)
    try:
        _ensure_home(prefix_fd, home, request, skel)
        if alias is not None:
            _set_alias(prefix_fd, root, alias, request.home)
        for old in old_aliases:
            if old not in (home, alias):
                _drop_old_alias(prefix_fd, root, old, request.home)
    finally:
        os.close(prefix_fd)


def component_of(path: object, root: str, what: str) -> str:
    """The single component of ``path`` below ``root``; see the module rules.

    Errors: ``HomeRefused`` naming ``what``.
    """
    if not isinstance(path, str) or not path.startswith(root + "/"):
        raise HomeRefused(f"{what} must be directly under the home prefix {root or '/'}")
    name = path[len(root) + 1 :]
    if not is_component(name):
        raise HomeRefused(f"{what} must be one plain name directly under the home prefix")
    return name


def is_component(name: str) -> bool:
    """Whether ``name`` is one path component hermit may create (see the module rules)."""
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return False
    return (
        0 < size <= MAX_COMPONENT_BYTES
        and "/" not in name
        and "\x00" not in name
        and not name.startswith(".")
    )


def _open_prefix(prefix: Path) -> int:
    try:
        fd = os.open(prefix, _DIR_FLAGS)
    except OSError as exc:
        raise HomeRefused(f"the home prefix {prefix} cannot be opened as a directory "
                          f"(it must exist and not be a symlink): {exc.strerror}") from exc
    info = os.fstat(fd)
    if info.st_uid != 0 or info.st_mode & 0o022:
        os.close(fd)
        raise HomeRefused(f"the home prefix {prefix} must belong to root and not be writable "
                          "by group or others")
    return fd


def _ensure_home(prefix_fd: int, home: str, request: HomeCreate, skel: Path) -> None:
    existing = _lstat_at(prefix_fd, home)
    if existing is not None:
        if not stat.S_ISDIR(existing.st_mode):
            raise HomeRefused(f"{request.home} exists and is not a directory")
        if existing.st_uid != request.uid:
            raise HomeRefused(f"{request.home} exists and belongs to uid {existing.st_uid}")
        return
    temp = TEMP_HOME_PREFIX + secrets.token_hex(8)
    os.mkdir(temp, HOME_MODE, dir_fd=prefix_fd)
    renamed = False
    try:
        home_fd = os.open(temp, _DIR_FLAGS, dir_fd=prefix_fd)
        try:
            os.fchmod(home_fd, HOME_MODE)  # whatever the umask
            if request.use_etc_skel:
                _copy_skel(skel, home_fd, request.uid, request.gid)
            os.fchown(home_fd, request.uid, request.gid)
        finally:
            os.close(home_fd)
        # The prefix is root's alone (checked on open), so nothing appeared since the lstat.
        if _lstat_at(prefix_fd, home) is not None:
            raise HomeRefused(f"{request.home} appeared while it was being created")
        os.rename(temp, home, src_dir_fd=prefix_fd, dst_dir_fd=prefix_fd)
        renamed = True
    finally:
        if not renamed:
            shutil.rmtree(temp, dir_fd=prefix_fd, ignore_errors=True)
    log.info("created home directory %s for %s", request.home, request.name)


def _copy_skel(skel: Path, home_fd: int, uid: int, gid: int) -> None:
    try:
        # /etc/skel belongs to root; only what is inside it is walked without following.
        skel_fd = os.open(skel, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        log.warning("use_etc_skel is set but %s does not exist; the home starts empty", skel)
        return
    try:
        _copy_tree(skel_fd, home_fd, uid, gid, depth=0)
    finally:
        os.close(skel_fd)


def _copy_tree(src_fd: int, dst_fd: int, uid: int, gid: int, depth: int) -> None:
    if depth > MAX_SKEL_DEPTH:
        raise HomeRefused(f"the skeleton directory is nested deeper than {MAX_SKEL_DEPTH}")
    with os.scandir(src_fd) as entries:
        for entry in entries:
            info = entry.stat(follow_symlinks=False)
            mode = stat.S_IMODE(info.st_mode) & 0o777  # set-id and sticky bits dropped
            if stat.S_ISDIR(info.st_mode):
                os.mkdir(entry.name, 0o700, dir_fd=dst_fd)
                sub_src = os.open(entry.name, _DIR_FLAGS, dir_fd=src_fd)
                sub_dst = os.open(entry.name, _DIR_FLAGS, dir_fd=dst_fd)
                try:
                    _copy_tree(sub_src, sub_dst, uid, gid, depth + 1)
                    os.fchown(sub_dst, uid, gid)
                    os.fchmod(sub_dst, mode)
                finally:
                    os.close(sub_src)
                    os.close(sub_dst)
            elif stat.S_ISREG(info.st_mode):
                _copy_file(src_fd, dst_fd, entry.name, uid, gid, mode)
            elif stat.S_ISLNK(info.st_mode):
                target = os.readlink(entry.name, dir_fd=src_fd)
                os.symlink(target, entry.name, dir_fd=dst_fd)
                os.chown(entry.name, uid, gid, dir_fd=dst_fd, follow_symlinks=False)
            else:
                log.info("skeleton entry %s is not a file, directory or symlink; skipped",
                         entry.name)


def _copy_file(src_fd: int, dst_fd: int, name: str, uid: int, gid: int, mode: int) -> None:
    source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src_fd)
    try:
        target = os.open(
            name,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
            dir_fd=dst_fd,
        )
        try:
            with open(source, "rb", closefd=False) as reader, \
                    open(target, "wb", closefd=False) as writer:
                shutil.copyfileobj(reader, writer)
            os.fchown(target, uid, gid)
            os.fchmod(target, mode)
        finally:
            os.close(target)
    finally:
        os.close(source)


def _set_alias(prefix_fd: int, root: str, alias: str, home_path: str) -> None:
    existing = _lstat_at(prefix_fd, alias)
    if existing is not None:
        target = _our_target(prefix_fd, root, alias, existing)
        if target is None:
            raise HomeRefused(f"{root}/{alias} exists and is not hermit's alias symlink; "
                              "it was left alone")
        if target == home_path:
            return
    temp = TEMP_ALIAS_PREFIX + secrets.token_hex(8)
    os.symlink(home_path, temp, dir_fd=prefix_fd)
    renamed = False
    try:
        # rename(2) replaces the old symlink atomically; over a directory it fails (EISDIR).
        os.rename(temp, alias, src_dir_fd=prefix_fd, dst_dir_fd=prefix_fd)
        renamed = True
    finally:
        if not renamed:
            os.unlink(temp, dir_fd=prefix_fd)
    log.info("alias %s/%s now points at %s", root, alias, home_path)


def _drop_old_alias(prefix_fd: int, root: str, old: str, home_path: str) -> None:
    existing = _lstat_at(prefix_fd, old)
    if existing is None:
        return
    if _our_target(prefix_fd, root, old, existing) != home_path:
        log.info("old alias %s/%s is not hermit's symlink to %s; left alone", root, old,
                 home_path)
        return
    os.unlink(old, dir_fd=prefix_fd)
    log.info("removed old alias %s/%s", root, old)


def _our_target(prefix_fd: int, root: str, name: str, info: os.stat_result) -> str | None:
    """The target of ``name`` if it is hermit's alias symlink (module rules), else None."""
    if not stat.S_ISLNK(info.st_mode) or info.st_uid != 0:
        return None
    target = os.readlink(name, dir_fd=prefix_fd)
    try:
        component_of(target, root, "alias target")
    except HomeRefused:
        return None
    return target


def _lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
