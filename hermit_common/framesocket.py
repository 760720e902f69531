"""Reading frames from a blocking socket: the loop of hermit's synchronous clients.

``hermit-unix`` and the admin socket's client (``hermit-idmd backup``, ``recover-account``)
talk to a daemon with a plain blocking socket, one request and one answer at a time; this is
their shell around ``hermit_common.framing.FrameDecoder``, as ``framestream.FrameReader`` is
the daemons'. Standard library only: ``hermit-unix`` must start without trio.
"""

from __future__ import annotations

import socket

from hermit_common.framing import CLOSED, FrameDecoder

RECEIVE_BYTES = 64 * 1024


def receive_frame(sock: socket.socket, decoder: FrameDecoder,
                  receive_bytes: int = RECEIVE_BYTES) -> bytes | None:
    """The next payload read from ``sock`` through ``decoder``, or None when the peer closed
    the connection between frames. The socket's own timeout bounds each read.

    Errors: ``PeerProtocolError`` from the decoder; ``OSError`` (``TimeoutError`` included).
    """
    while True:
        frame = decoder.next_frame()
        if isinstance(frame, bytes):
            return frame
        if frame is CLOSED:
            return None
        decoder.feed(sock.recv(receive_bytes))
