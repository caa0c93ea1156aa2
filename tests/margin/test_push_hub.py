"""The hub's fan-out: no socket waits for another, and each socket gets its pushes in order."""

import asyncio
import contextlib

from margin.push import BACKLOG, Hub
from tests.loops import run_in_thread


class FastSocket:
    def __init__(self) -> None:
        self.received: list[str] = []

    async def push_text(self, text: str) -> None:
        self.received.append(text)


class BlockedSocket:
    """A client whose buffer is full: each send waits until the test opens the gate."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.gate = asyncio.Event()

    async def push_text(self, text: str) -> None:
        await self.gate.wait()
        self.received.append(text)


class ClosedSocket:
    async def push_text(self, text: str) -> None:
        raise ConnectionResetError("gone")


def run(scenario):
    return run_in_thread(scenario)


def lines(*pairs):
    return "\n".join(f"{account} {text}" for account, text in pairs)


def test_a_blocked_socket_does_not_hold_the_sockets_after_it(settings):
    settings.REDIS_URL = ""
    hub, blocked, fast = Hub(), None, FastSocket()

    async def scenario():
        nonlocal blocked
        blocked = BlockedSocket()
        hub.join(1, blocked)
        hub.join(2, fast)
        await hub.deliver_encoded(lines((1, '{"seq":1}'), (2, '{"seq":1}')))
        # The burst is handed out without waiting for account 1's client.
        return list(fast.received), list(blocked.received)

    fast_received, blocked_received = run(scenario)
    assert fast_received == ['{"seq":1}']
    assert blocked_received == []


def test_a_blocked_socket_gets_its_pushes_in_order_once_it_drains(settings):
    settings.REDIS_URL = ""
    hub = Hub()

    async def scenario():
        blocked = BlockedSocket()
        hub.join(1, blocked)
        for seq in (1, 2, 3):
            await hub.deliver_encoded(lines((1, f'{{"seq":{seq}}}')))
        blocked.gate.set()
        for _ in range(20):
            await asyncio.sleep(0)
        return blocked.received, hub.delivered

    received, delivered = run(scenario)
    assert received == ['{"seq":1}', '{"seq":2}', '{"seq":3}']
    assert delivered == 3


def test_a_socket_that_stays_blocked_keeps_only_the_latest_pushes(settings):
    # The client sees the gap in sequence numbers and asks for a snapshot.
    settings.REDIS_URL = ""
    hub = Hub()
    pushes = BACKLOG + 5

    async def scenario():
        blocked = BlockedSocket()
        hub.join(1, blocked)
        for seq in range(1, pushes + 1):
            await hub.deliver_encoded(lines((1, f'{{"seq":{seq}}}')))
        blocked.gate.set()
        for _ in range(50):
            await asyncio.sleep(0)
        return blocked.received

    received = run(scenario)
    assert received[0] == '{"seq":1}'  # already being sent when the others queued
    assert received[1:] == [f'{{"seq":{seq}}}' for seq in range(pushes - BACKLOG + 1, pushes + 1)]


def test_a_socket_closing_under_a_push_does_not_stop_the_others(settings):
    settings.REDIS_URL = ""
    hub, fast = Hub(), FastSocket()

    async def scenario():
        hub.join(1, ClosedSocket())
        hub.join(2, fast)
        await hub.deliver_encoded(lines((1, '{"seq":1}'), (2, '{"seq":1}')))
        return fast.received, hub.delivered

    received, delivered = run(scenario)
    assert received == ['{"seq":1}']
    assert delivered == 1


def test_each_status_goes_to_its_own_accounts_sockets_only(settings):
    settings.REDIS_URL = ""
    hub = Hub()
    alice_tab, alice_phone, bob = FastSocket(), FastSocket(), FastSocket()

    async def scenario():
        hub.join(1, alice_tab)
        hub.join(1, alice_phone)
        hub.join(2, bob)
        await hub.deliver([{"account_id": 1, "seq": 4}, {"account_id": 3, "seq": 1}])

    run(scenario)
    assert alice_tab.received == alice_phone.received == ['{"account_id":1,"seq":4}']
    assert bob.received == []


class FrameSocket(FastSocket):
    """A socket of the portal's web process: takes a ready frame unless `taking` is off (its
    client pushing back, a snapshot being read), then the text through push_text."""

    def __init__(self, taking: bool = True) -> None:
        super().__init__()
        self.frames: list[bytes] = []
        self.taking = taking
        self.gate: asyncio.Event | None = None

    def write_frame(self, frame: bytes) -> bool:
        if self.taking:
            self.frames.append(frame)
        return self.taking

    async def push_text(self, text: str) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.received.append(text)


def test_a_status_is_framed_once_and_written_to_each_socket_of_its_account(settings):
    from portal.websocket_protocol import text_frame

    settings.REDIS_URL = ""
    hub = Hub()
    tab, phone, plain, other = FrameSocket(), FrameSocket(), FastSocket(), FrameSocket()

    async def scenario():
        hub.join(1, tab)
        hub.join(1, phone)
        hub.join(1, plain)  # a server without the frame writer: the text, as before
        hub.join(2, other)
        await hub.deliver_encoded(lines((1, '{"name":"林岚","seq":4}')))
        return hub.delivered

    assert run(scenario) == 3
    frame = text_frame('{"name":"林岚","seq":4}'.encode())
    assert tab.frames == phone.frames == [frame]
    assert tab.received == phone.received == []
    assert plain.received == ['{"name":"林岚","seq":4}']
    assert other.frames == other.received == []


def test_a_socket_that_cannot_take_the_frame_gets_the_text_and_its_order_holds(settings):
    settings.REDIS_URL = ""
    hub = Hub()
    socket = FrameSocket(taking=False)

    async def scenario():
        socket.gate = asyncio.Event()
        hub.join(1, socket)
        await hub.deliver_encoded(lines((1, '{"seq":1}')))  # waits behind the client
        socket.taking = True  # the transport would take a frame again...
        await hub.deliver_encoded(lines((1, '{"seq":2}')))  # ...but seq 1 is still queued
        socket.gate.set()
        for _ in range(20):
            await asyncio.sleep(0)
        await hub.deliver_encoded(lines((1, '{"seq":3}')))  # drained: straight to the transport
        return hub.delivered

    assert run(scenario) == 3
    assert socket.received == ['{"seq":1}', '{"seq":2}']
    assert [frame[2:] for frame in socket.frames] == [b'{"seq":3}']


class BrokenFrameSocket(FrameSocket):
    def write_frame(self, frame: bytes) -> bool:
        raise ConnectionResetError("gone")


def test_a_socket_whose_frame_write_fails_does_not_stop_the_others(settings):
    settings.REDIS_URL = ""
    hub, broken, after = Hub(), BrokenFrameSocket(), FrameSocket()

    async def scenario():
        hub.join(1, broken)
        hub.join(1, after)
        await hub.deliver_encoded(lines((1, '{"seq":1}')))
        return hub.delivered

    assert run(scenario) == 1
    assert [frame[2:] for frame in after.frames] == [b'{"seq":1}']
    assert broken.frames == broken.received == []


def _message(channel: str, payload: str) -> bytes:
    channel_bytes, data = channel.encode(), payload.encode()
    return b"*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
        len(channel_bytes),
        channel_bytes,
        len(data),
        data,
    )


def test_the_statuses_of_one_read_go_out_in_order_around_a_subscription_confirmed_among_them(
    settings,
):
    # One socket read of the subscription can hold many statuses and a SUBSCRIBE's confirmation;
    # the statuses are handed out together, in the order Redis sent them, and the confirmation
    # makes its account live.
    from margin.push import channel_for

    settings.REDIS_URL = ""
    hub = Hub()
    seven, eight = FrameSocket(), FrameSocket()
    stream = (
        _message(channel_for(7, ""), '7 {"seq":1}')
        + _message(channel_for(8, ""), '8 {"seq":1}')
        + b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:2\r\n"
        % (len(channel_for(8, "")), channel_for(8, "").encode())
        + _message(channel_for(7, ""), '7 {"seq":2}')
        + _message(channel_for(8, ""), '8 {"seq":2}')
    )

    async def scenario():
        hub.join(7, seven)
        hub.join(8, eight)
        hub._requested = {7, 8}
        hub._unconfirmed = {8: 1}
        reader = asyncio.StreamReader()
        reader.feed_data(stream)
        reader.feed_eof()
        with contextlib.suppress(ConnectionError):  # the stream's end: Redis closed it
            await hub._read(reader)
        return hub.delivered, set(hub._live)

    delivered, live = run(scenario)
    assert delivered == 4
    assert [frame[2:] for frame in seven.frames] == [b'{"seq":1}', b'{"seq":2}']
    assert [frame[2:] for frame in eight.frames] == [b'{"seq":1}', b'{"seq":2}']
    assert live == {8}
