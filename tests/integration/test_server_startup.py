"""hermit-idmd's command line before the server runs: config checks, cert-generate, refusals."""

from __future__ import annotations

import stat
from pathlib import Path

from contrib.harness.idmd_process import write_config
from tests.integration.idmd_server import run_idmd


def test_server__refuses_to_start_without_certificate_and_key(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    done = run_idmd(config, "server")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"cannot read tls_chain {tmp_path}/tls/chain.pem" in done.stderr
    assert f"hermit-idmd cert-generate -c {config}" in done.stderr
    assert not (tmp_path / "admin.sock").exists()


def test_server__refuses_to_start_with_a_key_that_does_not_match(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert run_idmd(config, "cert-generate").returncode == 0
    first_key = (tmp_path / "tls" / "key.pem").read_bytes()
    assert run_idmd(config, "cert-generate", "--force").returncode == 0
    (tmp_path / "tls" / "key.pem").write_bytes(first_key)
    done = run_idmd(config, "server")
    assert done.returncode == 2
    assert "do not form a usable certificate and key" in done.stderr
    assert "cert-generate" in done.stderr


def test_cert_generate__writes_chain_key_0600_and_ca_beside_the_chain(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    done = run_idmd(config, "cert-generate")
    assert done.returncode == 0, done.stderr
    tls = tmp_path / "tls"
    assert sorted(path.name for path in tls.iterdir()) == ["ca.pem", "chain.pem", "key.pem"]
    assert stat.S_IMODE((tls / "key.pem").stat().st_mode) == 0o600
    assert "BEGIN PRIVATE KEY" not in done.stdout + done.stderr


def test_cert_generate__refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert run_idmd(config, "cert-generate").returncode == 0
    ca = (tmp_path / "tls" / "ca.pem").read_bytes()
    done = run_idmd(config, "cert-generate")
    assert done.returncode == 1
    assert "exists; pass --force" in done.stderr
    assert (tmp_path / "tls" / "ca.pem").read_bytes() == ca


def test_configtest__prints_every_effective_value(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    done = run_idmd(config, "configtest")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        'bind_address = "127.0.0.1:0"',
        f'tls_chain = "{tmp_path}/tls/chain.pem"',
        f'tls_key = "{tmp_path}/tls/key.pem"',
        f'db_path = "{tmp_path}/hermit.db"',
        'domain = "example.com"',
        'origin = "https://localhost:8443"',
        f'admin_socket_path = "{tmp_path}/admin.sock"',
        'log_level = "info"',
        'backup_dir = ""',
        "backup_interval = 86400",
        "backup_keep = 7",
        'backup_compression = "gzip"',
    ]


def test_configtest__fills_in_defaults(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text('domain = "example.com"\norigin = "https://idm.example.com"\n')
    done = run_idmd(config, "configtest")
    assert done.returncode == 0, done.stderr
    assert 'bind_address = "127.0.0.1:8443"' in done.stdout.splitlines()


def test_config__unknown_key_is_an_error_naming_key_and_file(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    config.write_text(config.read_text() + 'insecure_bind = "0.0.0.0:80"\n')
    for command in ("configtest", "server"):
        done = run_idmd(config, command)
        assert done.returncode == 2
        assert done.stderr == (
            f"hermit-idmd: error: {config}: unknown key 'insecure_bind' (known keys: "
            "bind_address, tls_chain, tls_key, db_path, domain, origin, admin_socket_path, "
            "log_level, backup_dir, backup_interval, backup_keep, backup_compression)\n"
        )


def test_config__wrong_type_is_an_error_naming_key_and_file(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace('log_level = "info"', "log_level = 3"))
    done = run_idmd(config, "configtest")
    assert done.returncode == 2
    assert done.stderr == f"hermit-idmd: error: {config}: key 'log_level' must be a string\n"


def test_config__missing_file_is_one_line(tmp_path: Path) -> None:
    done = run_idmd(tmp_path / "absent.toml", "configtest")
    assert done.returncode == 2
    absent = tmp_path / "absent.toml"
    assert done.stderr == f"hermit-idmd: error: {absent}: no such configuration file\n"


def test_help__lists_the_public_subcommands(tmp_path: Path) -> None:
    done = run_idmd(tmp_path / "unused.toml", "--help")
    assert done.returncode == 0
    for command in ("server", "configtest", "cert-generate", "recover-account", "healthcheck"):
        assert command in done.stdout
    assert "verify" not in done.stdout
