"""The atheris harness of hermit-unixd's request parser.

An input is one frame's payload from a client of unixd's 0666 socket, so from any local user.
unixd's handler (``unixd/server.py`` ``handle_client``) runs ``decode_request`` on it (JSON,
then ``parse_request`` and the checks of each op's dataclass) and answers a
``PeerProtocolError`` with ``ErrorResponse.from_exception``; the seeds are the payloads of one
real request of every op (``gen_seeds.py``).

Promises checked (``unixd/proto/messages.py``):
- a payload becomes a request or a ``PeerProtocolError``, never another exception (anything
  else escapes the handler's answer: the client gets no error frame and unixd logs a
  traceback);
- the refusal makes an error frame unixd can send: a wire code, a bounded one-line detail;
- a PAM response (a password or a code) shows neither in the refusal's detail (it is logged)
  nor in a request's repr;
- a request that parsed is valid: encoded again (``encode_request``, as ``hermit-unix`` and
  the tests send it) it parses to an equal request.

Run through ``tests/fuzz/run.py`` (``make fuzz``), or directly with libFuzzer's flags::

    .venv/bin/python tests/fuzz/unixd_requests_fuzz.py -max_total_time=60 \
        -dict=tests/fuzz/json.dict tests/fuzz/corpus/unixd_requests
"""

from __future__ import annotations

import json
import sys

import atheris

with atheris.instrument_imports():
    from idmd.framing import PeerProtocolError
    from unixd.proto import limits
    from unixd.proto.messages import (
        REQUEST_TYPES,
        ErrorResponse,
        PamAuthStep,
        decode_request,
        encode_request,
        encode_response,
    )

# A response this short may show up in a detail by chance ("a", "op"); longer ones may not.
SECRET_MIN_CHARS = 6


def _secret_in(payload: bytes) -> str | None:
    """The PAM response the payload carries, if it has one long enough to look for."""
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if isinstance(obj, dict):
        response = obj.get("response")
        if isinstance(response, str) and len(response) >= SECRET_MIN_CHARS:
            return response
    return None


def test_one_input(payload: bytes) -> None:
    try:
        request = decode_request(payload)
    except PeerProtocolError as exc:
        answer = ErrorResponse.from_exception(exc)
        frame = encode_response(answer)
        assert len(frame) <= 4 + limits.MAX_RESPONSE_FRAME_BYTES
        assert "\n" not in answer.detail
        secret = _secret_in(payload)
        assert secret is None or secret not in exc.detail, "a PAM response in an error"
        return
    assert REQUEST_TYPES[request.OP] is type(request)
    if isinstance(request, PamAuthStep):
        assert "response=" not in repr(request), "a PAM response in a repr"
    again = decode_request(encode_request(request)[4:])
    assert again == request, f"{request!r} came back as {again!r}"


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
