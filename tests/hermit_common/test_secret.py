"""hermit_common.secret: a Secret shows its value to nothing but reveal()."""

from __future__ import annotations

import json
import logging

import pytest

from hermit_common.secret import Secret

VALUE = "hunter2hunter2"


def test_repr_str_format_and_f_strings_hide_the_value() -> None:
    secret = Secret(VALUE)
    shown = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!s}",
        f"{secret!r}",
        f"{secret:>40}",
        format(secret),
        format(secret, "s"),
        "{}".format(secret),  # noqa: UP032  (str.format is what is tested)
        "%s %r" % (secret, secret),  # noqa: UP031  (%-formatting is what is tested)
        repr({"password": secret}),
        str([secret]),
    ]
    assert all(VALUE not in text for text in shown)
    assert str(secret) == repr(secret) == f"{secret}" == "[secure]"


def test_log_lines_hide_the_value(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret(VALUE)
    log = logging.getLogger("test_secret")
    with caplog.at_level(logging.DEBUG, logger="test_secret"):
        log.info("password %s", secret)
        log.info("password %r", secret)
        log.info("request %s", {"password": secret})
        log.info(secret)  # type: ignore[arg-type]  # a Secret as the message itself
        try:
            raise ValueError(secret)
        except ValueError:
            log.exception("failed")
    assert caplog.records
    assert VALUE not in caplog.text
    assert all(VALUE not in record.getMessage() for record in caplog.records)


def test_it_is_no_string_so_every_use_is_a_reveal() -> None:
    secret = Secret(VALUE)
    assert secret.reveal() == VALUE
    assert not isinstance(secret, str)
    assert secret != VALUE
    with pytest.raises(TypeError):
        json.dumps({"password": secret})
    with pytest.raises(TypeError):
        _ = "prefix " + secret  # type: ignore[operator]


def test_equal_secrets_compare_and_hash_alike() -> None:
    assert Secret(VALUE) == Secret(VALUE)
    assert Secret(VALUE) != Secret(VALUE + "x")
    assert len({Secret(VALUE), Secret(VALUE)}) == 1
    assert Secret("\udc80") == Secret("\udc80")  # a lone surrogate from JSON compares too
