"""The live risk board: officers' open boards hear when alerts change; nobody else joins."""

import datetime
from decimal import Decimal as D

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings

from monitoring import alerts
from monitoring.surveillance import Pass, Signal
from tests.monitoring.conftest import _staff
from tests.notices.ws import WebsocketCommunicator

pytestmark = pytest.mark.django_db
MORNING = datetime.datetime(2026, 11, 26, 2, 30, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _sockets(monkeypatch, settings):
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def socket_for(client, user):
    from portal.asgi import application

    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    headers = [
        (b"origin", b"http://testserver"),
        (b"host", b"testserver"),
        (b"cookie", cookie.encode()),
    ]
    return WebsocketCommunicator(application, "/ws/monitoring/board/", headers=headers)


def test_an_officers_board_hears_a_new_alert(client, erin, django_capture_on_commit_callbacks):
    socket = socket_for(client, erin)
    signal = Signal("limit_down", "instrument", "300750.SZ", "info", D(1), D(1))

    def raise_one():
        with django_capture_on_commit_callbacks(execute=True):
            alerts.signals_apply(Pass([signal], {"limit_down"}), at=MORNING)

    async def scenario():
        assert (await socket.connect())[0]
        await sync_to_async(raise_one)()
        heard = await socket.receive_json_from(timeout=2)
        await socket.disconnect()
        return heard

    assert async_to_sync(scenario)() == {"type": "changed", "raised": 1, "ended": 0}


def test_a_client_cannot_join_the_board(client, client_alice):
    socket = socket_for(client, client_alice)

    async def scenario():
        await socket.connect()
        closed = await socket.receive_output(timeout=2)
        await socket.disconnect()
        return closed

    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": 4403}


def test_an_agent_cannot_join_the_board(client):
    socket = socket_for(client, _staff("agent"))

    async def scenario():
        await socket.connect()
        return await socket.receive_output(timeout=2)

    assert async_to_sync(scenario)()["code"] == 4403


@pytest.mark.parametrize("role", ["kyc_reviewer", "agent"])
def test_staff_outside_risk_and_compliance_cannot_join_the_board(client, role):
    socket = socket_for(client, _staff(role))

    async def scenario():
        await socket.connect()
        return await socket.receive_output(timeout=2)

    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": 4403}


def test_nobody_signed_out_joins_the_board():
    from portal.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    socket = WebsocketCommunicator(application, "/ws/monitoring/board/", headers=headers)

    async def scenario():
        await socket.connect()
        return await socket.receive_output(timeout=2)

    assert async_to_sync(scenario)()["code"] == 4403
