"""unixd.toml: every key's default and type, unknown keys, the rules between keys, render()."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hermit_common.configfile import ConfigError
from unixd.config import KEYS, MAX_SOCKET_PATH_BYTES, UnixdConfig, load_config, parse_config

URI = 'uri = "https://idm.example.com:8443"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "unixd.toml"
    path.write_text(text)
    return path


def parse(**raw: object) -> UnixdConfig:
    return parse_config({"uri": "https://idm.example.com:8443", **raw}, Path("/etc/u.toml"))


def test_load_config__defaults_are_those_of_design(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, URI))
    assert config == UnixdConfig(
        source=tmp_path / "unixd.toml",
        uri="https://idm.example.com:8443",
        ca_path=Path("/etc/hermit/ca.pem"),
        token_path=None,
        allowed_login_groups=(),
        name_format="name",
        default_shell="/bin/bash",
        home_prefix=Path("/home"),
        home_attr="uuid",
        home_alias="spn",
        use_etc_skel=False,
        cache_timeout=300,
        connect_timeout=2.0,
        request_timeout=4.0,
        offline_mfa="deny",
        offline_failed_login_attempts=3,
        offline_failed_login_delay=5.0,
        socket_path=Path("/run/hermit-unixd/sock"),
        task_socket_path=Path("/run/hermit-unixd/task.sock"),
        cache_path=Path("/var/cache/hermit-unixd/cache.db"),
    )


def test_load_config__reads_every_key(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, URI + """
ca_path = "/srv/ca.pem"
allowed_login_groups = ["staff", "Ops@Example.com", "9b3e1c2a-5f61-4d1e-9a77-0b1c2d3e4f50"]
name_format = "spn"
default_shell = "/bin/zsh"
home_prefix = "/u"
home_attr = "name"
home_alias = "none"
use_etc_skel = true
cache_timeout = 60
connect_timeout = 0.5
request_timeout = 3
offline_mfa = "password"
offline_failed_login_attempts = 5
offline_failed_login_delay = 30
socket_path = "/tmp/h/sock"
task_socket_path = "/tmp/h/task.sock"
cache_path = "/tmp/h/cache.db"
"""))
    assert config.allowed_login_groups == (
        "staff", "ops@example.com", "9b3e1c2a-5f61-4d1e-9a77-0b1c2d3e4f50",
    )
    assert (config.name_format, config.home_attr, config.home_alias) == ("spn", "name", "none")
    assert (config.default_shell, config.home_prefix) == ("/bin/zsh", Path("/u"))
    assert config.use_etc_skel is True
    assert (config.cache_timeout, config.connect_timeout, config.request_timeout) == (60, 0.5, 3)
    assert config.offline_mfa == "password"
    assert (config.offline_failed_login_attempts, config.offline_failed_login_delay) == (5, 30.0)
    assert config.socket_path == Path("/tmp/h/sock")
    assert config.cache_path == Path("/tmp/h/cache.db")
    assert config.ca_path == Path("/srv/ca.pem")


def test_load_config__unknown_key_names_key_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, URI + "cache_timout = 5\n")
    with pytest.raises(ConfigError, match=rf"^{path}: unknown key 'cache_timout'"):
        load_config(path)


def test_load_config__a_table_is_an_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, URI + "[extra]\nsocket_path = \"/x\"\n")
    with pytest.raises(ConfigError, match="unknown key 'extra'"):
        load_config(path)


def test_load_config__token_path_is_an_optional_absolute_path(tmp_path: Path) -> None:
    # Only the form: the file is checked by hermit-unixd at start (tests/unixd/test_tokenfile).
    config = load_config(write(tmp_path, URI + 'token_path = "/etc/hermit/absent.token"\n'))
    assert config.token_path == Path("/etc/hermit/absent.token")
    with pytest.raises(ConfigError, match="key 'token_path' must be an absolute path"):
        load_config(write(tmp_path, URI + 'token_path = "unixd.token"\n'))
    with pytest.raises(ConfigError, match="key 'token_path' must be a string"):
        load_config(write(tmp_path, URI + "token_path = 1\n"))


def test_render__an_unset_token_path_is_a_comment_and_a_set_one_only_its_path() -> None:
    assert "# token_path is not set\n" in parse().render()
    rendered = parse(token_path="/run/credentials/hermit-unixd.service/token").render()
    assert 'token_path = "/run/credentials/hermit-unixd.service/token"\n' in rendered


def test_load_config__missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "absent.toml")


def test_load_config__bad_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "uri = \n")
    with pytest.raises(ConfigError, match=rf"^{path}: not valid TOML"):
        load_config(path)


def test_parse_config__uri_is_required() -> None:
    with pytest.raises(ConfigError, match="missing required key 'uri'"):
        parse_config({}, Path("/etc/u.toml"))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("uri", "http://idm.example.com", "https URL"),
        ("uri", "https://idm.example.com/path", "https URL"),
        ("uri", "https://user@idm.example.com", "https URL"),
        ("uri", "https://idm.example.com:99999", "https URL"),
        ("uri", 5, "must be a string"),
        ("ca_path", "ca.pem", "absolute path"),
        ("ca_path", "", "may not be empty"),
        ("allowed_login_groups", "staff", "must be a list"),
        ("allowed_login_groups", ["a:b"], "group names"),
        ("allowed_login_groups", [1], "group names"),
        ("name_format", "uuid", "one of name, spn"),
        ("default_shell", "bash", "absolute path"),
        ("home_prefix", "home", "absolute path"),
        ("home_attr", "none", "one of uuid, spn, name"),
        ("home_alias", "gecos", "one of none, uuid, spn, name"),
        ("use_etc_skel", "yes", "true or false"),
        ("use_etc_skel", 1, "true or false"),
        ("cache_timeout", 1.5, "integer"),
        ("cache_timeout", True, "integer"),
        ("cache_timeout", -1, "between 0 and 86400"),
        ("cache_timeout", 86_401, "between 0 and 86400"),
        ("connect_timeout", 0, "more than 0"),
        ("connect_timeout", 61, "at most 60"),
        ("connect_timeout", float("inf"), "more than 0"),
        ("connect_timeout", float("nan"), "more than 0"),
        ("connect_timeout", "2", "number"),
        ("request_timeout", False, "number"),
        ("offline_mfa", "allow", "one of deny, password"),
        ("offline_mfa", True, "one of deny, password"),
        ("offline_failed_login_attempts", 0, "between 1 and 100"),
        ("offline_failed_login_attempts", 101, "between 1 and 100"),
        ("offline_failed_login_attempts", 2.5, "integer"),
        ("offline_failed_login_attempts", True, "integer"),
        ("offline_failed_login_delay", 0, "more than 0"),
        ("offline_failed_login_delay", 86_401, "at most 86400"),
        ("offline_failed_login_delay", float("nan"), "more than 0"),
        ("offline_failed_login_delay", "5", "number"),
        ("socket_path", "run/sock", "absolute path"),
        ("socket_path", '/run/"sock', "without quotes"),
        ("socket_path", "/run/s\\ock", "backslashes"),
        ("socket_path", "/run/s\nock", "control"),
        ("socket_path", "/" + "s" * MAX_SOCKET_PATH_BYTES, "at most 107 bytes"),
        ("task_socket_path", "task.sock", "absolute path"),
        ("cache_path", "cache.db", "absolute path"),
        ("cache_path", "/a\x00b", "NUL"),
    ],
    ids=repr,
)
def test_parse_config__refuses_a_bad_value_naming_key_and_file(
    key: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=rf"^/etc/u.toml: key '{key}' .*{message}") as caught:
        parse(**{key: value})
    if isinstance(value, str) and len(value) > 3:
        assert value not in str(caught.value).split(f"key '{key}'", 1)[1]


def test_parse_config__socket_path_of_exactly_the_limit_is_accepted() -> None:
    path = "/" + "s" * (MAX_SOCKET_PATH_BYTES - 1)
    assert parse(socket_path=path).socket_path == Path(path)


def test_parse_config__home_alias_may_not_equal_home_attr() -> None:
    with pytest.raises(ConfigError, match="'home_alias' must differ from 'home_attr'"):
        parse(home_attr="name", home_alias="name")
    assert parse(home_attr="name", home_alias="uuid").home_alias == "uuid"


def test_parse_config__request_timeout_at_least_connect_timeout() -> None:
    with pytest.raises(ConfigError, match="'request_timeout' must be at least"):
        parse(connect_timeout=5, request_timeout=4)
    assert parse(connect_timeout=4, request_timeout=4).request_timeout == 4.0


def test_parse_config__uri_trailing_slash_is_dropped() -> None:
    assert parse(uri="https://idm.example.com/").uri == "https://idm.example.com"


def test_render__lists_every_key_in_order_as_toml_that_reads_back() -> None:
    config = parse(
        allowed_login_groups=["staff", "ops"], connect_timeout=0.5, use_etc_skel=True,
        home_prefix="/srv/h\"o\\m\te", token_path="/etc/hermit/unixd.token",
    )
    text = config.render()
    assert text.startswith("# effective configuration from /etc/u.toml\n")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert [line.split(" = ")[0] for line in lines] == list(KEYS)
    assert 'allowed_login_groups = ["staff", "ops"]' in lines
    assert "connect_timeout = 0.5" in lines
    assert "request_timeout = 4" in lines
    assert "use_etc_skel = true" in lines
    assert parse_config(tomllib.loads(text), Path("/etc/u.toml")) == config
