"""The frame format of hermit's local sockets, as a sans-IO core.

This module turns bytes into frames and frames into bytes; it does no I/O, knows nothing of
trio, sockets or what a frame means (each socket's protocol module does: ``unixd.proto``,
``idmd/admin_socket.py``). The shells that read frames are ``framestream`` (trio) and
``framesocket`` (blocking). It implements DESIGN.md "Protocols": the admin socket speaks the
same framing as unixd's client and task sockets.

Wire format::

    byte 0-3   32-bit unsigned, big-endian: the length N of the payload (not counting itself)
    byte 4-    N bytes of UTF-8 JSON whose top level is an object

Rules (STYLE.md "Sans-IO protocol cores"):

- ``feed(b"")`` means the peer closed its side (EOF).
- A length above ``max_frame`` is refused as soon as the 4-byte header has arrived, before a
  single payload byte is buffered, so a peer cannot make us hold more than one frame's worth.
- EOF in the middle of a frame is a ``PeerProtocolError``; EOF between frames is ``CLOSED``.
- After any error the decoder is dead: every later call raises the same error again.
"""

from __future__ import annotations

import enum
import json
import struct
from collections.abc import Mapping

from hermit_common.errors import InvalidRequest

HEADER = struct.Struct(">I")


class Signal(enum.Enum):
    """What ``FrameDecoder.next_frame`` returns when it has no frame to give."""

    NEED_DATA = "need_data"
    CLOSED = "closed"


NEED_DATA = Signal.NEED_DATA
CLOSED = Signal.CLOSED


class PeerProtocolError(InvalidRequest):
    """The peer broke the framing or sent a payload that is not a JSON object."""

    code = "protocol_error"


class FrameDecoder:
    """Collects fed bytes and hands out whole frame payloads, one at a time."""

    def __init__(self, max_frame: int) -> None:
        if max_frame < 1:
            raise ValueError("`max_frame` must be positive")
        self._max_frame = max_frame
        self._buffer = bytearray()
        # Invariant: once set, ``_error`` is raised by every later call.
        self._error: PeerProtocolError | None = None
        self._eof = False

    def feed(self, data: bytes) -> None:
        """Add bytes received from the peer; ``b""`` means the peer closed its side."""
        self._raise_if_dead()
        if self._eof:
            # Our own bug: the shell kept reading after EOF.
            raise RuntimeError("feed() called after EOF")
        if not data:
            self._eof = True
            return
        self._buffer += data
        self._check_header()

    def next_frame(self) -> bytes | Signal:
        """The next complete payload, ``NEED_DATA``, or ``CLOSED`` after a clean EOF.

        Errors: ``PeerProtocolError`` for an oversized length or EOF inside a frame.
        """
        self._raise_if_dead()
        self._check_header()
        if len(self._buffer) >= HEADER.size:
            (length,) = HEADER.unpack_from(self._buffer)
            end = HEADER.size + length
            if len(self._buffer) >= end:
                payload = bytes(self._buffer[HEADER.size : end])
                del self._buffer[:end]
                return payload
        if not self._eof:
            return NEED_DATA
        if self._buffer:
            self._fail("the peer closed the connection in the middle of a frame")
        return CLOSED

    def _check_header(self) -> None:
        if len(self._buffer) >= HEADER.size:
            (length,) = HEADER.unpack_from(self._buffer)
            if length > self._max_frame:
                self._fail(f"a frame of {length} bytes is over the limit of {self._max_frame}")

    def _fail(self, detail: str) -> None:
        self._error = PeerProtocolError(detail)
        self._buffer.clear()
        raise self._error

    def _raise_if_dead(self) -> None:
        if self._error is not None:
            raise self._error


def decode_payload(payload: bytes) -> dict[str, object]:
    """Parse a frame's payload into its JSON object.

    Errors: ``PeerProtocolError`` when it is not UTF-8, not JSON, nested deeper than the
    parser goes (about a thousand levels), or not an object.
    """
    try:
        obj = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PeerProtocolError("a frame must hold UTF-8 JSON") from exc
    except RecursionError:
        # json.loads recurses once per level: a peer's "[[[[..." must be its error, not ours.
        raise PeerProtocolError("a frame must hold UTF-8 JSON, not nested too deep") from None
    if not isinstance(obj, dict):
        raise PeerProtocolError("a frame must hold a JSON object")
    return obj


def encode_frame(obj: Mapping[str, object], max_frame: int) -> bytes:
    """Serialise ``obj`` as one frame.

    Errors: ``ValueError`` when the frame would be over ``max_frame`` (a bug on our side: the
    peer would refuse it).
    """
    payload = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(payload) > max_frame:
        raise ValueError(f"a frame of {len(payload)} bytes is over the limit of {max_frame}")
    return HEADER.pack(len(payload)) + payload
