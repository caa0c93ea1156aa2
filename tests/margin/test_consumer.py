"""/ws/margin/: the account comes from the session; nobody sees another client's status."""

import datetime

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import Client

from margin.feed import ManualFeed
from margin.push import Publisher, hub
from margin.runner import RiskRunner
from tests.margin.conftest import make_account
from tests.notices.ws import WebsocketCommunicator

pytestmark = pytest.mark.django_db
THURSDAY = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def keep_test_db_connection(monkeypatch):
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


@pytest.fixture(params=["in-process", pytest.param("redis", marks=pytest.mark.services)])
def channel_layer(request, settings):
    """Pushes handed over in-process (embedded mode), and through Redis when REDIS_URL is set."""
    from channels.layers import channel_layers

    if request.param == "in-process":
        settings.REDIS_URL = ""
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield Publisher()
    channel_layers.backends.clear()


def socket_for(user=None, path="/ws/margin/"):
    from portal.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = (
            f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


def pushes_of(runner, minute, price):
    runner.feed.put({"300750.SZ": price}, at=THURSDAY + datetime.timedelta(minutes=minute))
    return runner.step(now=1000.0 + minute * 10)


def test_an_anonymous_socket_is_closed_with_4401(channel_layer):
    socket = socket_for()

    async def scenario():
        await socket.connect()
        closed = await socket.receive_output(timeout=2)
        await socket.disconnect()
        return closed

    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": 4401}


def test_a_client_without_a_margin_account_is_closed_with_4404(channel_layer, client_bob):
    socket = socket_for(client_bob)

    async def scenario():
        await socket.connect()
        closed = await socket.receive_output(timeout=2)
        await socket.disconnect()
        return closed

    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": 4404}


# The call's deadline counts from the instant it is raised: Thursday, so due at Monday's close.
@pytest.mark.time_machine(THURSDAY)
def test_alice_gets_her_snapshot_then_live_pushes_and_bob_gets_only_his(
    channel_layer, client_alice, client_bob
):
    alice_account = make_account(client_alice)
    bob_account = make_account(client_bob, holdings=[("600036.SH", 5000, "42.10")])
    runner = RiskRunner(feed=ManualFeed())
    runner.start()
    pushes = pushes_of(runner, 1, "1290.00")
    alice_socket, bob_socket = socket_for(client_alice), socket_for(client_bob)

    async def scenario():
        await alice_socket.connect()
        await bob_socket.connect()
        alice_first = await alice_socket.receive_json_from(timeout=3)
        bob_first = await bob_socket.receive_json_from(timeout=3)
        await hub.wait_subscribed()
        await channel_layer.publish([payload for _, payload in pushes])
        alice_live = await alice_socket.receive_json_from(timeout=3)
        bob_received = []
        while not await bob_socket.receive_nothing(timeout=0.5):
            bob_received.append(await bob_socket.receive_json_from(timeout=1))
        await alice_socket.disconnect()
        await bob_socket.disconnect()
        return alice_first, bob_first, alice_live, bob_received

    alice_first, bob_first, alice_live, bob_received = async_to_sync(scenario)()
    assert alice_first["type"] == "snapshot"
    assert alice_first["account"] == alice_account.number
    assert bob_first["account"] == bob_account.number
    assert (alice_live["type"], alice_live["level"], alice_live["ratio"]) == (
        "status",
        "call",
        "1.2900",
    )
    assert alice_live["call"]["deadline"] == "2026-11-30T07:00:00+00:00"
    assert [m["account"] for m in bob_received] == [bob_account.number]  # his own push only


def test_a_socket_that_names_another_account_gets_its_own_data_only(
    channel_layer, client_alice, client_bob
):
    alice_account = make_account(client_alice)
    make_account(client_bob, holdings=[("600036.SH", 5000, "42.10")])
    socket = socket_for(client_bob)
    socket.scope["query_string"] = f"account={alice_account.pk}".encode()

    async def scenario():
        await socket.connect()
        first = await socket.receive_json_from(timeout=3)
        await socket.send_json_to({"type": "resync", "account": alice_account.pk})
        second = await socket.receive_json_from(timeout=3)
        # Alice's status goes to alice's sockets only, however bob's socket asked.
        await hub.wait_subscribed()
        await channel_layer.publish([{"account_id": alice_account.pk, "type": "status"}])
        nothing = await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()
        return first, second, nothing

    first, second, nothing = async_to_sync(scenario)()
    assert first["account"] != alice_account.number
    assert second["account"] == first["account"]
    assert "300750.SZ" not in str(first) + str(second)
    assert nothing


def test_resync_returns_a_fresh_snapshot_with_todays_chart(channel_layer, client_alice):
    make_account(client_alice)
    runner = RiskRunner(feed=ManualFeed())
    runner.start()
    runner.step(now=1.0)
    socket = socket_for(client_alice)

    async def scenario():
        await socket.connect()
        await socket.receive_json_from(timeout=3)
        await socket.send_to(text_data="not json")  # ignored, the socket stays open
        await socket.send_json_to({"type": "resync"})
        again = await socket.receive_json_from(timeout=3)
        await socket.disconnect()
        return again

    again = async_to_sync(scenario)()
    assert again["type"] == "snapshot"
    assert again["epoch"] == runner.epoch
    assert len(again["history"]) == 1


def test_a_push_arriving_while_the_snapshot_is_read_follows_the_snapshot(
    client_alice, settings, monkeypatch
):
    from channels.layers import channel_layers

    from margin.consumers import MarginConsumer

    settings.REDIS_URL = ""  # the hub delivers in-process: the push lands mid-read for sure
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    account = make_account(client_alice)
    read_snapshot = MarginConsumer._snapshot

    def slow_read(consumer):
        snapshot = read_snapshot(consumer)
        # The engine pushes while this socket is still reading its snapshot: one status the
        # snapshot already covers (same run, same sequence) and one newer.
        async_to_sync(hub.deliver)(
            [
                {"account_id": account.pk, "type": "status", "epoch": "db", "seq": 0},
                {"account_id": account.pk, "type": "status", "epoch": "run-1", "seq": 5},
            ]
        )
        return snapshot

    monkeypatch.setattr(MarginConsumer, "_snapshot", slow_read)
    socket = socket_for(client_alice)

    async def scenario():
        await socket.connect()
        received = [await socket.receive_json_from(timeout=3)]
        while not await socket.receive_nothing(timeout=0.3):
            received.append(await socket.receive_json_from(timeout=1))
        await socket.disconnect()
        return received

    received = async_to_sync(scenario)()
    assert [(m["type"], m.get("epoch"), m.get("seq")) for m in received] == [
        ("snapshot", "db", 0),
        ("status", "run-1", 5),
    ]
    channel_layers.backends.clear()


def test_the_hub_retries_within_a_second_however_long_redis_was_away():
    from margin.push import RETRY_DELAYS

    assert RETRY_DELAYS[0] <= 0.1  # a quick first retry
    assert max(RETRY_DELAYS) <= 1.0  # and never more than a second between attempts after


def test_a_ready_frame_is_written_only_when_the_server_offers_it_and_no_snapshot_is_read():
    # The web process's protocol offers a frame writer (portal.websocket_protocol); pushes that
    # arrive while the snapshot is read wait for it through push_text, frames or not.
    from margin.consumers import MarginConsumer
    from portal.websocket_protocol import FRAME_WRITER

    written = []
    consumer = MarginConsumer()
    consumer.scope = {"type": "websocket", "extensions": {FRAME_WRITER: written.append}}
    consumer._held = []
    assert consumer.write_frame(b"held") is False
    consumer._held = None
    consumer.scope["extensions"][FRAME_WRITER] = lambda frame: written.append(frame) or True
    assert consumer.write_frame(b"sent") is True
    consumer.scope["extensions"][FRAME_WRITER] = lambda frame: False  # e.g. closing
    assert consumer.write_frame(b"refused") is False
    consumer.scope = {"type": "websocket"}  # another server: no writer
    assert consumer.write_frame(b"plain") is False
    assert written == [b"sent"]
