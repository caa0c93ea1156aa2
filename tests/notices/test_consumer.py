import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.test import Client

from notices import services
from notices.consumers import NoticeConsumer
from tests.notices.ws import WebsocketCommunicator

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def keep_test_db_connection(monkeypatch):
    # Consumers close "old" DB connections around each database_sync_to_async call; inside a
    # test's transaction that would close the very connection the test is using.
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


def portal_app():
    from portal.asgi import application

    return application


def socket_for(client=None, user=None, app=None):
    """A WebSocket to /ws/notices/, signed in through the session cookie like a browser."""
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if client is not None and user is not None:
        client.force_login(user)
        cookie = (
            f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(app or portal_app(), "/ws/notices/", headers=headers)


def security_alert_for(user, key):
    return services.enqueue(
        recipient=user,
        key="security_alert",
        context={"event": "new_sign_in"},
        idempotency_key=key,
        channels=["inapp"],
    )


def test_an_anonymous_socket_is_closed_with_4401(in_memory_channel_layer):
    socket = socket_for()

    async def scenario():
        await socket.connect()
        closed = await socket.receive_output(timeout=2)
        await socket.disconnect()
        return closed

    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": 4401}


def test_a_socket_from_another_site_is_refused(client, client_alice, in_memory_channel_layer):
    socket = socket_for(client, client_alice)
    socket.scope["headers"] = [
        (b"origin", b"https://evil.example") if name == b"origin" else (name, value)
        for name, value in socket.scope["headers"]
    ]

    async def scenario():
        connected, _ = await socket.connect()
        return connected

    assert async_to_sync(scenario)() is False


def test_alice_receives_her_notice_live_and_bob_does_not(
    client, client_alice, client_bob, deliver, in_memory_channel_layer
):
    alice_socket = socket_for(client, client_alice)
    bob_socket = socket_for(Client(), client_bob)

    async def scenario():
        assert (await alice_socket.connect())[0]
        assert (await bob_socket.connect())[0]
        [row] = await sync_to_async(deliver)(security_alert_for, client_alice, "alert:1")
        alice_got = await alice_socket.receive_json_from(timeout=2)
        bob_got_nothing = await bob_socket.receive_nothing(timeout=0.3)
        await alice_socket.disconnect()
        await bob_socket.disconnect()
        return row, alice_got, bob_got_nothing

    row, alice_got, bob_got_nothing = async_to_sync(scenario)()
    row.refresh_from_db()
    assert alice_got == {
        "type": "notice",
        "id": row.pk,
        "title": row.subject,
        "body": row.body,
        "unread": 1,
    }
    assert bob_got_nothing


def test_a_client_cannot_subscribe_to_someone_elses_notices_by_message(
    client_alice, client_bob, deliver, in_memory_channel_layer
):
    communicator = WebsocketCommunicator(NoticeConsumer.as_asgi(), "/ws/notices/")
    communicator.scope["user"] = client_bob

    async def scenario():
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"type": "subscribe", "user": client_alice.pk})
        await communicator.send_json_to({"group": f"notices.user.{client_alice.pk}"})
        await sync_to_async(deliver)(security_alert_for, client_alice, "alert:1")
        got_nothing = await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()
        return got_nothing

    assert async_to_sync(scenario)()


def test_ping_gets_a_pong_and_garbage_is_ignored(client_alice, in_memory_channel_layer):
    communicator = WebsocketCommunicator(NoticeConsumer.as_asgi(), "/ws/notices/")
    communicator.scope["user"] = client_alice

    async def scenario():
        await communicator.connect()
        await communicator.send_to(text_data="not json")
        await communicator.send_to(bytes_data=b"\x00\x01")
        await communicator.send_json_to(["a", "list"])
        await communicator.send_json_to({"type": "ping"})
        reply = await communicator.receive_json_from(timeout=2)
        await communicator.disconnect()
        return reply

    assert async_to_sync(scenario)() == {"type": "pong"}


def test_reading_a_notice_updates_the_unread_count_in_every_open_tab(
    client_alice, deliver, in_memory_channel_layer
):
    [row] = deliver(security_alert_for, client_alice, "alert:1")
    communicator = WebsocketCommunicator(NoticeConsumer.as_asgi(), "/ws/notices/")
    communicator.scope["user"] = client_alice

    async def scenario():
        await communicator.connect()
        await sync_to_async(deliver)(
            services.notification_mark_read, user=client_alice, notification_id=row.pk
        )
        got = await communicator.receive_json_from(timeout=2)
        await communicator.disconnect()
        return got

    assert async_to_sync(scenario)() == {"type": "unread", "unread": 0}


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_over_the_redis_channel_layer_only_the_recipient_gets_the_push(client):
    from channels.layers import channel_layers

    from tests.factories import UserFactory

    assert settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis")
    channel_layers.backends.clear()
    alice = UserFactory(email="alice-ws@example.test")
    bob = UserFactory(email="bob-ws@example.test", language="en")
    alice_socket = socket_for(client, alice)
    bob_socket = socket_for(Client(), bob)

    async def scenario():
        assert (await alice_socket.connect())[0]
        assert (await bob_socket.connect())[0]
        # transaction=True: the enqueue commits, the eager task delivers and pushes through Redis.
        [row] = await sync_to_async(security_alert_for)(alice, "alert:redis")
        got = await alice_socket.receive_json_from(timeout=5)
        nothing = await bob_socket.receive_nothing(timeout=0.5)
        await alice_socket.disconnect()
        await bob_socket.disconnect()
        return row, got, nothing

    row, got, nothing = async_to_sync(scenario)()
    row.refresh_from_db()
    assert row.status == "sent"
    assert (got["type"], got["id"], got["unread"]) == ("notice", row.pk, 1)
    assert nothing
    channel_layers.backends.clear()
