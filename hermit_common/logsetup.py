"""Where the daemons' log lines go: the journal under systemd, else plain lines on stderr.

Used by hermit-idmd, hermit-unixd and hermit-unixd-tasks alike, each with its own syslog
identifier.

This module only configures the root logger once at start-up; what is logged, and that no
secret ever is, is the business of each module that logs.

- Under systemd (``JOURNAL_STREAM`` is set, see systemd.exec(5)) records go to the journal
  through ``systemd.journal.JournalHandler``, with their priority and the logger's name as
  fields, so ``journalctl -u hermit-idmd -p warning`` works.
- Otherwise each record is one line ``LEVEL name: message`` on stderr; no timestamp, because
  whatever collects stderr adds its own.
"""

from __future__ import annotations

import logging
import os
import sys

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
PLAIN_FORMAT = "%(levelname)s %(name)s: %(message)s"
SYSLOG_IDENTIFIER = "hermit-idmd"


def setup_logging(level: str, identifier: str = SYSLOG_IDENTIFIER) -> None:
    """Send every record at ``level`` or above to the journal or to stderr (see module doc)."""
    handler: logging.Handler
    if os.environ.get("JOURNAL_STREAM"):
        from systemd.journal import JournalHandler

        handler = JournalHandler(SYSLOG_IDENTIFIER=identifier)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(PLAIN_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS[level])
