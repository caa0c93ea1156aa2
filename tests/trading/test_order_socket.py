"""/ws/trading/: order status pushed live to its owner, and only to its owner.

The account comes from the session; every message naming an order is checked against it.
Another client and every staff role try to reach Alice's order (the URLs are covered in
test_views.test_bob_and_every_staff_role_cannot_see_or_cancel_alices_order).
"""

from decimal import Decimal as D

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client

from tests.notices.ws import WebsocketCommunicator
from tests.trading.conftest import THURSDAY, instrument, trader
from trading import services
from trading.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def keep_test_db_connection(monkeypatch):
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


@pytest.fixture(autouse=True)
def in_memory_layer(settings):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def socket_for(user=None):
    from portal.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = (
            f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, "/ws/trading/", headers=headers)


@pytest.fixture
def alices_order(documents, thursday):
    alice = trader(holdings=[("000001.SZ", 5000, "20.00")])
    instrument("600036.SH", "36.00")
    order = services.order_submit(
        account_id=alice.pk,
        side="buy",
        kind="limit",
        code="600036.SH",
        quantity=100,
        price=D("36.00"),
        client_token="alice-1",
        at=THURSDAY,
    ).order
    return alice, order


def test_alice_sees_her_order_cancelled_live_and_bob_sees_nothing(
    alices_order, django_capture_on_commit_callbacks
):
    alice, order = alices_order
    bob = trader(holdings=[("000001.SZ", 5000, "20.00")])
    alice_socket, bob_socket = socket_for(alice.client), socket_for(bob.client)

    def cancel():
        with django_capture_on_commit_callbacks(execute=True):
            services.order_cancel(order_id=order.pk, account_id=alice.pk, at=THURSDAY)

    async def scenario():
        assert (await alice_socket.connect())[0] and (await bob_socket.connect())[0]
        await database_sync_to_async(cancel)()
        pushed = await alice_socket.receive_json_from(timeout=3)
        bob_heard_nothing = await bob_socket.receive_nothing(timeout=0.5)
        await alice_socket.disconnect()
        await bob_socket.disconnect()
        return pushed, bob_heard_nothing

    pushed, bob_heard_nothing = async_to_sync(scenario)()
    assert (pushed["id"], pushed["status"], pushed["filled_quantity"]) == (
        order.pk,
        "cancelled",
        0,
    )
    assert bob_heard_nothing


def test_alice_may_ask_for_her_order_and_bob_asking_for_it_is_told_not_found(alices_order):
    alice, order = alices_order
    bob = trader(holdings=[("000001.SZ", 5000, "20.00")])
    alice_socket, bob_socket = socket_for(alice.client), socket_for(bob.client)

    async def scenario():
        await alice_socket.connect()
        await bob_socket.connect()
        await alice_socket.send_json_to({"type": "order", "id": order.pk})
        mine = await alice_socket.receive_json_from(timeout=3)
        await bob_socket.send_json_to({"type": "order", "id": order.pk})
        theirs = await bob_socket.receive_json_from(timeout=3)
        # Naming Alice's account in the message changes nothing: the session decides.
        await bob_socket.send_json_to({"type": "order", "id": order.pk, "account": alice.pk})
        again = await bob_socket.receive_json_from(timeout=3)
        await alice_socket.disconnect()
        await bob_socket.disconnect()
        return mine, theirs, again

    mine, theirs, again = async_to_sync(scenario)()
    assert (mine["id"], mine["status"], mine["code"]) == (order.pk, "accepted", "600036.SH")
    assert theirs == again == {"type": "error", "error": "not_found"}


@pytest.mark.parametrize("role", ["agent", "kyc_reviewer", "risk_officer", "compliance"])
def test_no_staff_role_can_open_the_order_socket(alices_order, role):
    from tests.disclosures.factories import ensure_roles
    from tests.factories import UserFactory

    ensure_roles()
    socket = socket_for(UserFactory(role=role))

    async def scenario():
        await socket.connect()
        closed = await socket.receive_output(timeout=2)
        await socket.disconnect()
        return closed

    # Staff hold no margin account: the socket closes before any message can name an order.
    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": 4404}


def test_an_anonymous_socket_is_closed_with_4401(db):
    socket = socket_for()

    async def scenario():
        await socket.connect()
        closed = await socket.receive_output(timeout=2)
        await socket.disconnect()
        return closed

    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": 4401}


@pytest.mark.parametrize(
    "message",
    [
        '{"type": "order", "id": "1 OR 1=1"}',
        "not json",
        "[]",
        '{"type": "order", "id": Infinity}',
        '{"type": "order", "id": 1e400}',
        '{"type": "order", "id": NaN}',
        '{"type": "order", "id": true}',
        '{"type": "order", "id": "\uff11"}',
        '{"type": "order", "id": -1}',
    ],
)
def test_bad_messages_are_refused_and_change_nothing(alices_order, message):
    alice, _order = alices_order
    socket = socket_for(alice.client)

    async def scenario():
        await socket.connect()
        await socket.send_to(text_data=message)
        answer = await socket.receive_json_from(timeout=3)
        await socket.disconnect()
        return answer

    assert async_to_sync(scenario)()["type"] == "error"
    assert Order.objects.get().status == Order.Status.ACCEPTED


def test_pushes_from_a_worker_thread_keep_one_loop_and_inside_a_loop_use_the_callers():
    # The venue's step runs in a worker thread: its pushes reuse one loop (and the channel
    # layer's connection) instead of a new thread, loop and connection for each.
    import asyncio
    import threading

    from trading import push

    found = []
    worker = threading.Thread(
        target=lambda: found.extend([push._thread_loop(), push._thread_loop()])
    )
    worker.start()
    worker.join()
    assert found[0] is not None and found[0] is found[1]

    async def inside():
        return push._thread_loop()

    assert asyncio.run(inside()) is None
