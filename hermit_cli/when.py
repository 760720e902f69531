"""Reading the WHEN of ``--expire-at`` and ``--begin-at`` into the API's time form.

It does not know which attribute the time goes to (``commands/person.py`` does) and takes
"now" as an argument, so it never reads a clock.

Accepted forms, each turned into RFC 3339 in UTC (``2026-11-25T12:00:00Z``) or ``None``:
- RFC 3339 with an offset (``2026-11-25T13:00:00+01:00``, ``...Z``); fractions of a second
  are dropped, as the API stores whole seconds;
- ``YYYY-MM-DD``: midnight UTC at the start of that day;
- ``now``: the given moment;
- ``never``: ``None``, which the API stores as "no bound" (docs/api.md: ``TIME|null``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from hermit_cli.errors import UsageError

# RFC 3339 section 5.6 "date-time", with the "T"/space and "Z"/"z" leniency its note allows.
_RFC3339_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})"
)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_when(text: str, now: datetime) -> str | None:
    """Turn a WHEN as typed into the API's form; ``now`` must be timezone-aware.

    Errors: ``UsageError`` naming the value when it is none of the accepted forms.
    """
    value = text.strip()
    if value.lower() == "never":
        return None
    if value.lower() == "now":
        return format_time(now)
    try:
        if _DATE_RE.fullmatch(value):
            day = date.fromisoformat(value)
            return format_time(datetime(day.year, day.month, day.day, tzinfo=UTC))
        if _RFC3339_RE.fullmatch(value):
            normalised = value.upper().replace("Z", "+00:00")
            return format_time(datetime.fromisoformat(normalised))
    except ValueError as exc:
        raise UsageError(f"{value!r} is not a valid date or time: {exc}") from exc
    raise UsageError(
        f"{value!r} is not a time: use RFC 3339 (2026-11-25T12:00:00Z), YYYY-MM-DD, now or never"
    )
