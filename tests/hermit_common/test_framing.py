"""The admin socket's frame format: golden bytes, every limit, EOF and the dead state."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hermit_common.framing import (
    CLOSED,
    NEED_DATA,
    FrameDecoder,
    PeerProtocolError,
    decode_payload,
    encode_frame,
)


def drain(decoder: FrameDecoder) -> list[bytes]:
    frames = []
    while isinstance(frame := decoder.next_frame(), bytes):
        frames.append(frame)
    return frames


def test_encode_frame__golden_bytes() -> None:
    assert encode_frame({"op": "verify"}, 64) == b'\x00\x00\x00\x0f{"op":"verify"}'


def test_encode_frame__keeps_non_ascii_as_utf8() -> None:
    assert encode_frame({"n": "é"}, 64) == b'\x00\x00\x00\x0a{"n":"\xc3\xa9"}'


def test_encode_frame__refuses_a_frame_over_the_limit() -> None:
    with pytest.raises(ValueError, match="over the limit"):
        encode_frame({"op": "x" * 20}, 16)


def test_decoder__returns_a_frame_fed_whole() -> None:
    decoder = FrameDecoder(64)
    decoder.feed(b'\x00\x00\x00\x0f{"op":"verify"}')
    assert decoder.next_frame() == b'{"op":"verify"}'
    assert decoder.next_frame() is NEED_DATA


def test_decoder__needs_data_until_the_frame_is_complete() -> None:
    decoder = FrameDecoder(64)
    decoder.feed(b"\x00\x00")
    assert decoder.next_frame() is NEED_DATA
    decoder.feed(b"\x00\x02{")
    assert decoder.next_frame() is NEED_DATA
    decoder.feed(b"}")
    assert decoder.next_frame() == b"{}"


def test_decoder__a_frame_of_exactly_the_limit_is_accepted() -> None:
    decoder = FrameDecoder(4)
    decoder.feed(b"\x00\x00\x00\x04abcd")
    assert decoder.next_frame() == b"abcd"


def test_decoder__refuses_an_oversized_length_on_the_header_alone() -> None:
    decoder = FrameDecoder(4)
    with pytest.raises(PeerProtocolError, match="5 bytes is over the limit of 4"):
        decoder.feed(b"\x00\x00\x00\x05")


def test_decoder__refuses_a_huge_length_before_any_payload() -> None:
    decoder = FrameDecoder(64 * 1024)
    with pytest.raises(PeerProtocolError):
        decoder.feed(b"\xff\xff\xff\xff")


def test_decoder__is_dead_after_an_error() -> None:
    decoder = FrameDecoder(4)
    with pytest.raises(PeerProtocolError) as first:
        decoder.feed(b"\x00\x00\x00\x05")
    with pytest.raises(PeerProtocolError) as again:
        decoder.next_frame()
    assert again.value is first.value
    with pytest.raises(PeerProtocolError):
        decoder.feed(b"\x00\x00\x00\x01a")


def test_decoder__eof_between_frames_is_closed() -> None:
    decoder = FrameDecoder(64)
    decoder.feed(b"\x00\x00\x00\x02{}")
    decoder.feed(b"")
    assert decoder.next_frame() == b"{}"
    assert decoder.next_frame() is CLOSED


@pytest.mark.parametrize("partial", [b"\x00", b"\x00\x00\x00", b"\x00\x00\x00\x02{"])
def test_decoder__eof_inside_a_frame_is_a_peer_error(partial: bytes) -> None:
    decoder = FrameDecoder(64)
    decoder.feed(partial)
    decoder.feed(b"")
    with pytest.raises(PeerProtocolError, match="middle of a frame"):
        decoder.next_frame()


def test_decoder__feed_after_eof_is_our_bug() -> None:
    decoder = FrameDecoder(64)
    decoder.feed(b"")
    with pytest.raises(RuntimeError):
        decoder.feed(b"x")


def test_decoder__max_frame_must_be_positive() -> None:
    with pytest.raises(ValueError, match="`max_frame`"):
        FrameDecoder(0)


@given(
    st.lists(st.dictionaries(st.text(max_size=5), st.integers(), max_size=3), max_size=5),
    st.data(),
)
def test_decoder__any_split_of_a_stream_yields_the_same_frames(
    objects: list[dict[str, int]], data: st.DataObject
) -> None:
    stream = b"".join(encode_frame(obj, 1024) for obj in objects)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    decoder = FrameDecoder(1024)
    frames: list[bytes] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        if cut > start:
            decoder.feed(stream[start:cut])
            start = cut
        frames += drain(decoder)
    decoder.feed(b"")
    assert decoder.next_frame() is CLOSED
    assert [decode_payload(frame) for frame in frames] == objects


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xff\xfe", "UTF-8 JSON"),
        (b"{not json", "UTF-8 JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"op"', "JSON object"),
    ],
)
def test_decode_payload__refuses_what_is_not_a_json_object(payload: bytes, message: str) -> None:
    with pytest.raises(PeerProtocolError, match=message):
        decode_payload(payload)


@pytest.mark.parametrize("payload", [b"[" * 20_000, b'{"a":' + b'{"b":[' * 10_000])
def test_decode_payload__refuses_json_nested_past_the_recursion_limit(payload: bytes) -> None:
    # json.loads raises RecursionError here; a peer's bytes must only ever make a
    # PeerProtocolError (found by tests/fuzz's unixd targets' promise).
    with pytest.raises(PeerProtocolError, match="nested too deep"):
        decode_payload(payload)
