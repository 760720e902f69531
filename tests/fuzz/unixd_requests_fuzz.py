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
- a PAM response (a password or a code) changes nothing about the refusal (so it cannot show
  in its detail, which unixd logs) and does not show in a request's repr;
- a request that parsed is valid: encoded again (``encode_request``, as ``hermit-unix`` and
  the tests send it) it parses to an equal request.

Run through ``tests/fuzz/run.py`` (``make fuzz``), or directly with libFuzzer's flags::

    .venv/bin/python tests/fuzz/unixd_requests_fuzz.py -max_total_time=60 \
        -dict=tests/fuzz/json.dict tests/fuzz/corpus/unixd_requests
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from hermit_common.framing import PeerProtocolError, decode_payload
    from unixd.proto import limits
    from unixd.proto.messages import (
        REQUEST_TYPES,
        ErrorResponse,
        PamAuthStep,
        decode_request,
        encode_request,
        encode_response,
        parse_request,
    )

def _refusal(obj: dict[str, object]) -> str | None:
    """The detail parse_request refuses ``obj`` with, or None if it accepts it."""
    try:
        parse_request(obj)
    except PeerProtocolError as exc:
        return exc.detail
    return None


def _check_secret_not_used(payload: bytes) -> None:
    """Whether and how a request is refused does not depend on what its PAM response says:
    the same request with another response of the same length gets the same answer. (So the
    response cannot reach the detail, which unixd logs, nor change what a peer sees.)"""
    try:
        obj = decode_payload(payload)
    except PeerProtocolError:
        return
    response = obj.get("response")
    # NUL, lone surrogates and the length are refused for what they are, whatever the rest.
    if not isinstance(response, str) or "\x00" in response:
        return
    try:
        size = len(response.encode("utf-8"))
    except UnicodeEncodeError:
        return
    if size > limits.MAX_PAM_RESPONSE_BYTES:
        return
    other = dict(obj, response="x" * len(response) if response != "x" * len(response)
                 else "y" * len(response))
    assert _refusal(obj) == _refusal(other), "the PAM response changed the answer"


def test_one_input(payload: bytes) -> None:
    _check_secret_not_used(payload)
    try:
        request = decode_request(payload)
    except PeerProtocolError as exc:
        answer = ErrorResponse.from_exception(exc)
        frame = encode_response(answer)
        assert len(frame) <= 4 + limits.MAX_RESPONSE_FRAME_BYTES
        assert "\n" not in answer.detail
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
