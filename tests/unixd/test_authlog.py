"""unixd.resolver.authlog: the line a failure leaves, and that syslog gets it with facility
authpriv (Python's syslog module, replaced here by a recorder)."""

from __future__ import annotations

import syslog

import pytest

from unixd.resolver import authlog
from unixd.resolver.authlog import AuthLog, SyslogSink


def test_auth_log__one_line_per_failure_without_secrets() -> None:
    lines: list[str] = []
    AuthLog(lines.append).failure(user="alice", uuid="u-1", service="sshd", peer_uid=1000,
                                  check="offline", reason="wrong password")
    AuthLog(lines.append).failure(user="bob", uuid=None, service="su", peer_uid=0,
                                  check="none", reason="x")
    assert lines == [
        "authentication failure; user=alice uuid=u-1 service=sshd peer_uid=1000 check=offline "
        "reason=wrong password",
        "authentication failure; user=bob uuid=- service=su peer_uid=0 check=none reason=x",
    ]


def test_syslog_sink__opens_authpriv_once_and_logs_notice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr(authlog.syslog, "openlog", lambda *args: calls.append(("open", *args)))
    monkeypatch.setattr(authlog.syslog, "syslog", lambda *args: calls.append(("log", *args)))
    sink = SyslogSink()
    sink("one")
    sink("two")
    assert calls == [
        ("open", "hermit-unixd", syslog.LOG_PID, syslog.LOG_AUTHPRIV),
        ("log", syslog.LOG_AUTHPRIV | syslog.LOG_NOTICE, "one"),
        ("log", syslog.LOG_AUTHPRIV | syslog.LOG_NOTICE, "two"),
    ]
