"""uvicorn's WebSocket protocol with one addition: a socket can take a pre-encoded text frame.

The Procfile runs uvicorn with ``--ws portal.websocket_protocol:FrameWritingProtocol``
(``PROTOCOL``). Everything else is uvicorn's ``websockets-sansio`` protocol, its default.

Why: a live margin push went, per socket, through the consumer's send, the ASGI middleware's send
wrappers (session guard, outage watcher) and uvicorn's send (a wait on the writable event, the
websockets protocol building and serialising a frame, a join of its output) before reaching the
transport: each a coroutine call, on every socket of a market-wide burst, one after the other.
A status is the same bytes for every socket of its account, so the hub builds its frame once
(``text_frame``) and writes it to each socket's transport directly.

The direct write is offered in the scope (``scope["extensions"][FRAME_WRITER]``) and only takes a
frame while the ASGI path would send it straight away: handshake done, the connection open, no
close sent or received (the session guard's close goes through the ASGI path and ends it), the
transport not pushing back, no permessage-deflate (each socket would compress on its own). In
every other case it answers False and the caller sends through ASGI, which waits, drops or
raises exactly as before. Without this protocol (tests, another server) the key is absent and
everything goes through ASGI.
"""

from __future__ import annotations

import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

PROTOCOL = "portal.websocket_protocol:FrameWritingProtocol"
FRAME_WRITER = "portal.frame_writer"  # the scope extension: a callable, frame bytes -> bool


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame (RFC 6455 §5.2: a server never masks) carrying `payload`,
    which must be UTF-8 (the statuses' JSON is)."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class FrameWritingProtocol(WebSocketsSansIOProtocol):
    async def run_asgi(self) -> None:
        # The scope (and its extensions dict, fresh per connection) is built by handle_connect,
        # which schedules this task; the application has not seen it yet.
        extensions: dict[str, Any] = self.scope["extensions"]  # typed as dict[object, object]
        extensions[FRAME_WRITER] = self.write_frame
        await super().run_asgi()

    def write_frame(self, frame: bytes) -> bool:
        """Write a text frame built by ``text_frame`` if the socket would send it at once through
        ASGI (module doc); False, having written nothing, otherwise."""
        if (
            self.close_sent
            or self.disconnected
            or not self.handshake_complete
            or self.initial_response is not None
            or not self.writable.is_set()
            or self.conn.state is not State.OPEN
            or self.conn.extensions
        ):
            return False
        self.transport.write(frame)
        return True
