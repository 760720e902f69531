"""The authpriv log of failed password checks on unixd's client socket.

This module owns what a failed check leaves in the host's security log, and where it goes:
one line per failure (a wrong password or code online or offline, a check refused by a
delay or a lockout, a peer refused for asking about another account), through syslog(3) with
facility ``LOG_AUTHPRIV`` (Python's ``syslog`` module), as pam_unix and sshd log theirs, so
the host's tools (``journalctl SYSLOG_FACILITY=10``, ``/var/log/auth.log``, fail2ban) see
them. It decides nothing about who may check what (``dispatch``) and checks nothing.

Issue 9, finding 5: guessing through unixd left no trace anywhere.

Rules:
- A line never holds a password, a code or a hash: only the name asked for, the account's
  uuid, the PAM service, the peer's uid, where the check ran (online, offline) and unixd's
  reason, each a validated value without spaces or control characters, or a fixed text.
- Successes are not logged here (the PAM stack's session modules and sshd log logins).
- syslog(3) writes to /dev/log (journald's socket under systemd, whose PrivateDevices= keeps
  it); a host without a syslog daemon loses the lines, as it loses pam_unix's.

Wire format: ``hermit-unixd[PID]: authentication failure; user=NAME uuid=UUID service=SVC
peer_uid=N check=online|offline|none reason=TEXT``, severity notice.
"""

from __future__ import annotations

import syslog
from collections.abc import Callable

IDENT = "hermit-unixd"
FAILURE = "authentication failure"


class SyslogSink:
    """syslog(3) with facility authpriv; opened at the first line."""

    def __init__(self) -> None:
        self._opened = False

    def __call__(self, line: str) -> None:
        if not self._opened:
            syslog.openlog(IDENT, syslog.LOG_PID, syslog.LOG_AUTHPRIV)
            self._opened = True
        syslog.syslog(syslog.LOG_AUTHPRIV | syslog.LOG_NOTICE, line)


class AuthLog:
    """Failure lines to ``sink`` (syslog's authpriv unless a test passes its own)."""

    def __init__(self, sink: Callable[[str], None] | None = None) -> None:
        self.sink: Callable[[str], None] = sink or SyslogSink()

    def failure(
        self, *, user: str, uuid: str | None, service: str, peer_uid: int, check: str,
        reason: str,
    ) -> None:
        """One failed or refused check. ``check``: ``online``, ``offline`` or ``none``
        (refused before any check); ``reason``: one of unixd's fixed denial texts."""
        self.sink(f"{FAILURE}; user={user} uuid={uuid or '-'} service={service} "
                  f"peer_uid={peer_uid} check={check} reason={reason}")
