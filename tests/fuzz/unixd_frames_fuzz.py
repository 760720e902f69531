"""The atheris harness of the frame decoder hermit-unixd reads its sockets with.

unixd's ``FrameReader`` (``hermit_common/framestream.py``) feeds whatever a peer sends into
``hermit_common.framing.FrameDecoder`` and takes frames out until it needs data; each payload
then goes to ``decode_payload``. An input here is the byte stream a peer sends, then closes.
The harness decodes it the way unixd does, fed whole and in pieces of several sizes
(``pieces``), with unixd's request limit and with a small limit (so the refusal on the header
is reached with frames the fuzzer can make); the seeds are real request frames.

Promises checked (``hermit_common/framing.py``):
- however the stream is split, the frames and the outcome (a clean close, a frame over the
  limit refused on its header, a close in the middle of a frame) are those of a plain reading
  of the stream;
- after an error the decoder is dead: ``feed`` and ``next_frame`` raise the same error again;
- every payload becomes a dict or a ``PeerProtocolError`` in ``decode_payload``, never another
  exception (unixd answers only a ``PeerProtocolError`` with an error frame).

Run through ``tests/fuzz/run.py`` (``make fuzz``), or directly with libFuzzer's flags::

    .venv/bin/python tests/fuzz/unixd_frames_fuzz.py -max_total_time=60 \
        tests/fuzz/corpus/unixd_frames
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from hermit_common.framing import (
        CLOSED,
        HEADER,
        NEED_DATA,
        FrameDecoder,
        PeerProtocolError,
        decode_payload,
    )
    from unixd.proto import limits

LIMITS = (limits.MAX_REQUEST_FRAME_BYTES, 64)
# Byte by byte costs a feed per byte: only for streams this short (a frame or two).
BYTE_BY_BYTE_UP_TO = 128


def pieces(stream: bytes) -> tuple[int | None, ...]:
    """The sizes ``stream`` is fed in: whole (None), in 3-byte pieces, in pieces of a size
    the stream's length picks (so a header is cut at every place across inputs), and byte by
    byte when it is short."""
    sizes: tuple[int | None, ...] = (None, 3, 2 + len(stream) % 11)
    return (*sizes, 1) if len(stream) <= BYTE_BY_BYTE_UP_TO else sizes


def plain_reading(stream: bytes, max_frame: int) -> tuple[list[bytes], str]:
    """The frames of ``stream`` and how it ends, read the obvious way."""
    frames: list[bytes] = []
    at = 0
    while True:
        if len(stream) - at < HEADER.size:
            return frames, "closed" if at == len(stream) else "truncated"
        (length,) = HEADER.unpack_from(stream, at)
        if length > max_frame:
            return frames, "oversized"
        if len(stream) - at - HEADER.size < length:
            return frames, "truncated"
        frames.append(stream[at + HEADER.size: at + HEADER.size + length])
        at += HEADER.size + length


def _outcome(exc: PeerProtocolError) -> str:
    return "oversized" if "over the limit" in exc.detail else "truncated"


def _assert_dead(decoder: FrameDecoder, exc: PeerProtocolError) -> None:
    for call in (lambda: decoder.feed(b"more"), decoder.next_frame):
        try:
            call()
        except PeerProtocolError as again:
            assert again is exc, "a dead decoder raised another error"
        else:
            raise AssertionError("the decoder went on after an error")


def decoded(stream: bytes, max_frame: int, piece: int | None) -> tuple[list[bytes], str]:
    """The frames and the end of ``stream`` as unixd's reader sees them."""
    decoder = FrameDecoder(max_frame)
    frames: list[bytes] = []
    step = piece or max(len(stream), 1)
    try:
        for start in range(0, len(stream), step):
            decoder.feed(stream[start: start + step])
            while (frame := decoder.next_frame()) is not NEED_DATA:
                assert isinstance(frame, bytes), "CLOSED before EOF"
                frames.append(frame)
        decoder.feed(b"")
        while (frame := decoder.next_frame()) is not CLOSED:
            assert isinstance(frame, bytes), "NEED_DATA after EOF"
            frames.append(frame)
    except PeerProtocolError as exc:
        _assert_dead(decoder, exc)
        return frames, _outcome(exc)
    return frames, "closed"


def test_one_input(stream: bytes) -> None:
    for max_frame in LIMITS:
        expected = plain_reading(stream, max_frame)
        for piece in pieces(stream):
            got = decoded(stream, max_frame, piece)
            assert got == expected, f"split every {piece} bytes: {got!r} != {expected!r}"
    for frame in plain_reading(stream, limits.MAX_REQUEST_FRAME_BYTES)[0]:
        try:
            obj = decode_payload(frame)
        except PeerProtocolError:
            continue
        assert isinstance(obj, dict)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
