"""Reading frames from a trio stream: the one loop every socket of hermit reads with.

``FrameReader`` is the trio shell around ``hermit_common.framing.FrameDecoder``: it feeds what
the stream gives into the decoder until a whole frame is there. hermit-unixd's client and task
sockets, the tasks daemon's end of the task socket and idmd's admin socket all read this way.

Rules:
- ``next_frame`` returns the next payload, or ``None`` once the peer closed cleanly between
  frames; what the decoder refuses (an oversized length, EOF inside a frame) is its
  ``PeerProtocolError``.
- Optional timeouts, both ``trio.TooSlowError``: ``idle_timeout`` bounds the wait for a
  frame's first byte, ``frame_timeout`` the time from a frame's first byte to its last (and
  the whole wait, when there is no idle timeout but a frame is already begun).
- The decoder outlives each call: bytes of the next frame that came with this one are kept.
"""

from __future__ import annotations

import trio

from hermit_common.framing import CLOSED, HEADER, FrameDecoder

RECEIVE_BYTES = 64 * 1024


class FrameReader:
    """Frames from one stream, with the timeouts of the module rules."""

    def __init__(self, stream: trio.abc.ReceiveStream, max_frame: int, *,
                 idle_timeout: float | None = None, frame_timeout: float | None = None,
                 receive_bytes: int = RECEIVE_BYTES) -> None:
        self._stream = stream
        self._decoder = FrameDecoder(max_frame)
        self._idle_timeout = idle_timeout
        self._frame_timeout = frame_timeout
        self._receive_bytes = receive_bytes
        # Invariant: bytes fed minus bytes of frames handed out = bytes of a frame begun.
        self._buffered = 0

    async def next_frame(self) -> bytes | None:
        """The next payload, or None at a clean EOF.

        Errors: ``PeerProtocolError``; ``trio.TooSlowError`` when a timeout passes.
        """
        deadline = (
            self._after(self._frame_timeout) if self._buffered
            else self._after(self._idle_timeout)
        )
        while True:
            frame = self._decoder.next_frame()
            if isinstance(frame, bytes):
                self._buffered -= HEADER.size + len(frame)
                return frame
            if frame is CLOSED:
                return None
            with trio.fail_at(deadline):
                data = await self._stream.receive_some(self._receive_bytes)
            if data and not self._buffered:
                # The first byte of a frame: from now on it has the frame timeout to finish.
                deadline = min(deadline, self._after(self._frame_timeout))
            self._buffered += len(data)
            self._decoder.feed(bytes(data))

    @staticmethod
    def _after(timeout: float | None) -> float:
        return float("inf") if timeout is None else trio.current_time() + timeout
