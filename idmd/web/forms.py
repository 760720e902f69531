"""Reading the web door's form bodies: bounded, urlencoded, one value per field.

It turns bytes into a ``dict[str, str]`` and refuses what no hermit page sends; it judges no
value (idm does, through the same methods the API calls) and checks no CSRF token
(``csrf.py``).

Rules (docs/web.md "Forms"):
- Only ``application/x-www-form-urlencoded`` (what every page's form sends); anything else
  is ``NotAForm``, which the guard answers like a form without its CSRF token (403).
- At most ``MAX_FORM_BYTES``: a larger ``Content-Length`` is refused before reading, and the
  bytes are counted while streaming (a missing or lying header does not help); over it is
  ``BodyTooLarge``, answered with the 413 page.
- At most ``MAX_FORM_FIELDS`` fields, each named once, the body ASCII and its escapes UTF-8;
  anything else is ``InvalidRequest``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from hermit_common.errors import InvalidRequest
from idmd.errors import BodyTooLarge

# The largest form a page sends is a passkey's registration answer (toJSON() of an ES256 or
# RS256 credential with attestation none: about 2 KiB, RSA-4096 about 3 KiB); a password is at
# most 512 bytes before escaping. 64 KiB leaves room for all of it and keeps one request small.
MAX_FORM_BYTES = 64 * 1024
# The most fields a page's form has is five; a few spare.
MAX_FORM_FIELDS = 16
FORM_TYPE = "application/x-www-form-urlencoded"


class NotAForm(InvalidRequest):
    """A POST whose body is not a form (so it carries no CSRF token either)."""
TOO_LARGE = f"a form may have at most {MAX_FORM_BYTES} bytes"


def declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


async def read_form(request: Request) -> dict[str, str]:
    """The fields of the request's form body. Errors: see the module doc."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != FORM_TYPE:
        raise NotAForm(f"a form must be sent as {FORM_TYPE}")
    declared = declared_length(request)
    if declared is not None and declared > MAX_FORM_BYTES:
        raise BodyTooLarge(TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise BodyTooLarge(TOO_LARGE)
        chunks.append(chunk)
    try:
        text = b"".join(chunks).decode("ascii")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
            encoding="utf-8",
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("the form is not well-formed") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise InvalidRequest(f"the field {name!r} is sent twice")
        fields[name] = value
    return fields
