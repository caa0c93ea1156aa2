"""The web process's WebSocket protocol: a pre-encoded frame is written straight to the transport
only while the ASGI path would send it at once (open, accepted, not closing, not pushing back,
not compressing), and is then exactly the frame websockets itself would have sent."""

import asyncio

import pytest
import uvicorn
from uvicorn.server import ServerState
from websockets.frames import Frame, Opcode

from portal.websocket_protocol import FRAME_WRITER, FrameWritingProtocol, text_frame
from tests.loops import run_in_thread

HANDSHAKE = (
    b"GET /ws/margin/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


class Transport:
    """What the protocol writes, in order; enough of asyncio.Transport for it."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(bytes(data))

    def get_extra_info(self, name, default=None):
        addresses = {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}
        return addresses.get(name, default)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def run(scenario):
    return run_in_thread(scenario)


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_a_text_frame_is_the_one_websockets_would_send(size):
    payload = ("状" * size).encode()[:size]  # UTF-8, cut anywhere: the length is what matters
    assert text_frame(payload) == Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])


def serve(app, extra_headers: bytes = b"", deflate: bool = False):
    """One connection of the protocol over a fake transport, running `app` to its end."""

    async def scenario():
        config = uvicorn.Config(app, ws=FrameWritingProtocol, ws_per_message_deflate=deflate)
        config.load()
        protocol = FrameWritingProtocol(config, ServerState(), {}, _loop=asyncio.get_running_loop())
        transport = Transport()
        protocol.connection_made(transport)
        protocol.data_received(HANDSHAKE + extra_headers + b"\r\n")
        await asyncio.wait_for(asyncio.gather(*protocol.tasks), 5)
        return transport.written, protocol

    return run(scenario)


def test_a_frame_is_written_only_while_the_socket_is_open_and_taking_data():
    frame = text_frame(b'{"seq":1}')
    answers = []

    async def app(scope, receive, send):
        await receive()  # websocket.connect
        write = scope["extensions"][FRAME_WRITER]
        answers.append(("before accept", write(frame)))
        await send({"type": "websocket.accept"})
        answers.append(("open", write(frame)))
        protocol.pause_writing()  # the client's buffer is full: ASGI's send would wait
        answers.append(("pushing back", write(frame)))
        protocol.resume_writing()
        await send({"type": "websocket.close", "code": 4001})  # e.g. the session guard
        answers.append(("closed", write(frame)))

    protocol = None
    original_init = FrameWritingProtocol.__init__

    def remember(self, *args, **kwargs):
        nonlocal protocol
        original_init(self, *args, **kwargs)
        protocol = self

    FrameWritingProtocol.__init__ = remember
    try:
        written, _ = serve(app)
    finally:
        FrameWritingProtocol.__init__ = original_init
    assert answers == [
        ("before accept", False),
        ("open", True),
        ("pushing back", False),
        ("closed", False),
    ]
    assert written[0].startswith(b"HTTP/1.1 101")
    close = Frame(Opcode.CLOSE, (4001).to_bytes(2, "big")).serialize(mask=False, extensions=[])
    assert written[1:] == [frame, close]


def test_no_frame_is_written_to_a_compressing_socket():
    # permessage-deflate compresses each socket's messages with its own context.
    answers = []

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        answers.append(scope["extensions"][FRAME_WRITER](text_frame(b"{}")))
        await send({"type": "websocket.close"})

    written, _ = serve(app, b"Sec-WebSocket-Extensions: permessage-deflate\r\n", deflate=True)
    assert b"permessage-deflate" in written[0]
    assert answers == [False]
