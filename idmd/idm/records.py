"""The stored form of hermit's JSON records: sessions, TOTPs, reset tokens and API tokens.

Each value of a SESSION-syntax attribute is one JSON object. It is written canonically
(sorted keys, no spaces) so one record is always one stored value: the storage layer compares
values to tell "unchanged", and a record is removed by its exact value. Reading gives the
object or ``None``; what each field must be is for the module that owns the record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def encode_record(fields: Mapping[str, object]) -> str:
    return json.dumps(dict(fields), sort_keys=True, separators=(",", ":"))


def decode_record(value: str) -> dict[str, Any] | None:
    """The JSON object in ``value``, or ``None`` when it is not one."""
    try:
        obj = json.loads(value)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None
