"""One PAM transaction through python-pam with a conversation of this script's own, for the
end-to-end tests (run it inside the world's mount namespace, where /etc/pam.d is hermit's).

python-pam's own conversation answers only the first echo-off prompt of each round with one
password, so this script brings its own (shared/testing pitfall 9): each prompt, echo on or
off, gets the next of the given answers; info and error messages are recorded. An exception
inside a ctypes callback would come back to libpam as 0 (``PAM_SUCCESS``), so the callback
catches everything and answers ``PAM_CONV_ERR``.

stdin: a JSON object ``{"service", "user", "answers": [str], "steps": [STEP]}`` with STEP
one of ``authenticate``, ``acct_mgmt``, ``open_session``, ``close_session``; the steps run
in order and stop at the first that fails.
stdout: a JSON object ``{"results": [[STEP, CODE, TEXT]], "transcript": [[STYLE, TEXT]]}``
— STYLE is ``echo_off``, ``echo_on``, ``error`` or ``info``; the answers themselves are never
printed. (``PAM_AUTHTOK`` cannot be read here: libpam hides it from applications.)
"""

from __future__ import annotations

import ctypes
import importlib
import json
import sys
from ctypes import POINTER, byref, c_size_t, c_void_p, cast, memmove, sizeof
from typing import Any

import pam  # type: ignore[import-untyped]  # noqa: F401  (loads pam.__internals)

_pi: Any = importlib.import_module("pam.__internals")

PAM_SUCCESS = 0
PAM_BUF_ERR = 5
PAM_CONV_ERR = 19
STYLES = {1: "echo_off", 2: "echo_on", 3: "error", 4: "info"}

_libc = ctypes.CDLL(None)
_libc.calloc.restype = c_void_p
_libc.calloc.argtypes = [c_size_t, c_size_t]
_libc.free.argtypes = [c_void_p]


def run(request: dict[str, Any]) -> dict[str, Any]:
    answers = iter(request["answers"])
    transcript: list[list[str]] = []

    @_pi.conv_func  # type: ignore[untyped-decorator]
    def conv(count: int, messages: Any, p_response: Any, _data: Any) -> int:
        owned: list[int] = []
        try:
            block = _libc.calloc(count, sizeof(_pi.PamResponse))
            if not block:
                return PAM_BUF_ERR
            owned.append(block)
            responses = cast(block, POINTER(_pi.PamResponse))
            for index in range(count):
                message = messages[index].contents
                style = STYLES.get(message.msg_style, str(message.msg_style))
                transcript.append([style, (message.msg or b"").decode("utf-8", "replace")])
                if style not in ("echo_off", "echo_on"):
                    continue
                data = next(answers).encode()  # StopIteration: more prompts than answers
                buf = _libc.calloc(len(data) + 1, 1)
                if not buf:
                    raise MemoryError
                owned.append(buf)
                memmove(buf, data, len(data))
                responses[index].resp = buf  # libpam frees the answers and the block
                responses[index].resp_retcode = 0
            p_response[0] = responses
            return PAM_SUCCESS
        except BaseException as exc:  # never let libpam read 0 (success) from an error
            transcript.append(["conv_error", type(exc).__name__])
            for address in owned:
                _libc.free(address)
            return PAM_CONV_ERR

    pamlib = _pi.PamAuthenticator()
    handle = _pi.PamHandle()
    conversation = _pi.PamConv(conv, None)
    code = pamlib.pam_start(request["service"].encode(), request["user"].encode(),
                            byref(conversation), byref(handle))
    if code != PAM_SUCCESS:
        return {"results": [["pam_start", code, ""]], "transcript": transcript}
    results: list[list[object]] = []
    try:
        for step in request["steps"]:
            code = getattr(pamlib, f"pam_{step}")(handle, 0)
            results.append([step, code, pamlib.pam_strerror(handle, code).decode()])
            if code != PAM_SUCCESS:
                break
    finally:
        pamlib.pam_end(handle, code)
    return {"results": results, "transcript": transcript}


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
