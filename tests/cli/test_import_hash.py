"""``hermit person credential import-hash`` against a scripted server."""

from __future__ import annotations

from tests.cli.scripted_server import Hermit, ScriptedServer


def test_import_hash__sends_the_hash_from_stdin_and_never_prints_it(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("idm_admin")
    stored = "{SSHA}c2VjcmV0LWhhc2gtYnl0ZXMtYW5kLXNhbHQ="
    server.expect("PUT", "/v1/person/alice/unix_password", {"changed": True})
    result = hermit("person", "credential", "import-hash", "alice", "--unix",
                    stdin=f"\n{stored}\n")
    assert (result.status, result.out) == (0, "unix password hash imported for alice\n")
    assert server.sent_json() == {"password_hash": stored}
    assert hermit("person", "credential", "import-hash", "alice", stdin="a\nb\n").status == 2
