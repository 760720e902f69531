"""schemathesis, as an independent client, fuzzes the real server over TLS from the document
the server itself serves at ``/v1/openapi.json``.

It must find no server error, no answer that breaks the document, no schema-invalid request
accepted and no schema-valid request refused (``positive_data_acceptance``: the request body
schemas say exactly what idm accepts, ``idmd/https/fields.py``). ``schemathesis.toml`` beside
this file names the few operations that may refuse a schema-valid request, each with the
reason a schema cannot state (an SSH key that does not parse, a step without its session).
``ignored_auth`` is left out: we send a valid token on purpose, so every operation is reached.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.idmd_server import IdmdServer

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CONFIG = Path(__file__).with_name("schemathesis.toml")
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,negative_data_rejection,positive_data_acceptance"
)


def test_openapi_fuzz__real_server_over_tls(idmd: IdmdServer, tmp_path: Path) -> None:
    token = idmd.login("idm_admin", idmd.idm_admin_password)
    result = subprocess.run(
        [
            str(SCHEMATHESIS), "--config-file", str(CONFIG),
            "run", f"{idmd.url}/v1/openapi.json",
            "--tls-verify", str(idmd.ca),
            "--header", f"Authorization: Bearer {token}",
            "--checks", CHECKS,
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", "25",
            "--seed", "20261125",
            "--workers", "2",
            "--generation-database", "none",
            "--exclude-path", "/v1/auth/logout",
            # Like logout: schemathesis learns the current session's id from GET
            # /v1/auth/sessions and would end the session the fuzz runs with.
            "--exclude-path", "/v1/auth/sessions/{session_id}",
            "--no-color",
            "--output-sanitize", "true",
            "--report-dir", str(tmp_path),
        ],
        capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path,
    )
    summary = result.stdout[-6000:]
    assert token not in result.stdout + result.stderr
    assert result.returncode == 0, summary
    assert "No issues found" in result.stdout or " passed" in result.stdout, summary
    # The server is still serving afterwards.
    with idmd.client() as client:
        assert client.get("/status").status_code == 200
