"""server.toml: defaults, every key's checks, and errors that name the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermit_common.configfile import ConfigError
from idmd.config import load_config

MINIMAL = 'domain = "example.com"\norigin = "https://idm.example.com:8443"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "server.toml"
    path.write_text(text)
    return path


def test_load_config__minimal_file_gets_the_documented_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL))
    assert cfg.bind_host == "127.0.0.1"
    assert cfg.bind_port == 8443
    assert cfg.bind_address == "127.0.0.1:8443"
    assert cfg.tls_chain == Path("/var/lib/hermit-idmd/tls/chain.pem")
    assert cfg.tls_key == Path("/var/lib/hermit-idmd/tls/key.pem")
    assert cfg.db_path == Path("/var/lib/hermit-idmd/hermit.db")
    assert cfg.admin_socket_path == Path("/run/hermit-idmd/admin.sock")
    assert cfg.log_level == "info"
    assert cfg.ca_path == Path("/var/lib/hermit-idmd/tls/ca.pem")
    assert cfg.origin_host == "idm.example.com"


def test_load_config__relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL + 'tls_chain = "tls/chain.pem"\n'))
    assert cfg.tls_chain == tmp_path.resolve() / "tls" / "chain.pem"
    assert cfg.ca_path == tmp_path.resolve() / "tls" / "ca.pem"


def test_load_config__ipv6_bind_address(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL + 'bind_address = "[::1]:0"\n'))
    assert (cfg.bind_host, cfg.bind_port) == ("::1", 0)
    assert cfg.bind_address == "[::1]:0"


def test_load_config__log_level_is_folded(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, MINIMAL + 'log_level = "DEBUG"\n')).log_level == "debug"


def test_load_config__origin_trailing_slash_is_dropped(tmp_path: Path) -> None:
    text = 'domain = "example.com"\norigin = "https://idm.example.com/"\n'
    assert load_config(write(tmp_path, text)).origin == "https://idm.example.com"


def test_effective_values__lists_every_key_once(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL))
    keys = [key for key, _ in cfg.effective_values()]
    assert keys == [
        "bind_address", "tls_chain", "tls_key", "db_path", "domain", "origin",
        "admin_socket_path", "log_level", "backup_dir", "backup_interval", "backup_keep",
        "backup_compression",
    ]


def test_load_config__scheduled_backups_are_off_by_default(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL))
    assert cfg.backup_dir is None
    assert (cfg.backup_interval, cfg.backup_keep, cfg.backup_compression) == (86400, 7, "gzip")
    assert ("backup_dir", "") in cfg.effective_values()


def test_load_config__backup_keys(tmp_path: Path) -> None:
    text = MINIMAL + (
        'backup_dir = "backups"\nbackup_interval = 3600\nbackup_keep = 24\n'
        'backup_compression = "lzma"\n'
    )
    cfg = load_config(write(tmp_path, text))
    assert cfg.backup_dir == tmp_path.resolve() / "backups"
    assert (cfg.backup_interval, cfg.backup_keep, cfg.backup_compression) == (3600, 24, "lzma")
    assert ("backup_interval", 3600) in cfg.effective_values()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("backup_dir = 1", "key 'backup_dir' must be a string"),
        ('backup_interval = "3600"', "key 'backup_interval' must be an integer from 1 to"),
        ("backup_interval = 0", "key 'backup_interval' must be an integer from 1 to"),
        ("backup_interval = 1.5", "key 'backup_interval' must be an integer from 1 to"),
        ("backup_keep = 0", "key 'backup_keep' must be an integer from 1 to 1000"),
        ("backup_keep = true", "key 'backup_keep' must be an integer from 1 to 1000"),
        ("backup_keep = 1001", "key 'backup_keep' must be an integer from 1 to 1000"),
        ('backup_compression = "zstd"', "key 'backup_compression' must be one of gzip, lzma"),
    ],
)
def test_load_config__bad_backup_key(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, MINIMAL + line + "\n")
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(info.value).startswith(str(path))


def test_load_config__unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + 'listen = "0.0.0.0:80"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert "unknown key 'listen'" in str(info.value)


def test_load_config__a_table_is_an_unknown_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key 'tls'"):
        load_config(write(tmp_path, MINIMAL + "[tls]\nchain = 'x'\n"))


@pytest.mark.parametrize("key", ["domain", "origin"])
def test_load_config__required_key_missing(tmp_path: Path, key: str) -> None:
    text = "\n".join(line for line in MINIMAL.splitlines() if not line.startswith(key))
    with pytest.raises(ConfigError, match=f"missing required key '{key}'"):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("bind_address = 8443", "bind_address"),
        ("log_level = 1", "log_level"),
        ("db_path = ['a']", "db_path"),
        ('tls_key = ""', "tls_key"),
    ],
)
def test_load_config__wrong_type_names_the_key(tmp_path: Path, line: str, key: str) -> None:
    path = write(tmp_path, MINIMAL + line + "\n")
    with pytest.raises(ConfigError, match=f"key '{key}'") as info:
        load_config(path)
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize(
    "value",
    ["localhost:8443", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:65536", "::1:8443", ":8443"],
)
def test_load_config__bad_bind_address(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="key 'bind_address' must be IP:PORT"):
        load_config(write(tmp_path, MINIMAL + f'bind_address = "{value}"\n'))


@pytest.mark.parametrize(
    "value",
    [
        "http://idm.example.com",
        "https://",
        "https://idm.example.com/idm",
        "https://idm.example.com?x=1",
        "https://user@idm.example.com",
        "https://idm.example.com:99999",
        "idm.example.com",
    ],
)
def test_load_config__bad_origin(tmp_path: Path, value: str) -> None:
    text = f'domain = "example.com"\norigin = "{value}"\n'
    with pytest.raises(ConfigError, match="key 'origin' must be an https URL"):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize("value", ["Example.com", "example..com", "-x.com", "a b", "ex_ample.com"])
def test_load_config__bad_domain(tmp_path: Path, value: str) -> None:
    text = f'domain = "{value}"\norigin = "https://idm.example.com"\n'
    with pytest.raises(ConfigError, match="key 'domain'"):
        load_config(write(tmp_path, text))


def test_load_config__bad_log_level(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="key 'log_level' must be one of debug, info"):
        load_config(write(tmp_path, MINIMAL + 'log_level = "verbose"\n'))


def test_load_config__missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "nope.toml")


def test_load_config__invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "domain = \n")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_config(path)
    assert str(path) in str(info.value)
