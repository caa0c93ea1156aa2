"""While the database or Redis is down a client gets a clean refusal: 503 pages, 1013 sockets."""

from contextlib import contextmanager

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client, RequestFactory
from django.urls import reverse

from portal.middleware import RETRY_AFTER_SECONDS, server_error
from portal.settings.services import redis_channel_layer
from tests.notices.ws import WebsocketCommunicator

pytestmark = pytest.mark.django_db


@contextmanager
def database_down(monkeypatch):
    """Every query fails the way psycopg does when PostgreSQL is gone."""

    def refuse(self, *args, **kwargs):
        raise OperationalError('connection to server at "10.0.0.7", port 5432 failed: refused')

    with monkeypatch.context() as patch:
        patch.setattr(CursorWrapper, "execute", refuse)
        patch.setattr(CursorWrapper, "executemany", refuse)
        yield


def test_a_signed_in_page_answers_503_in_chinese_with_retry_after(
    client, client_alice, monkeypatch
):
    client.force_login(client_alice)
    with database_down(monkeypatch):
        response = client.get(reverse("notices:list"))
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert '<html lang="zh-hans">' in page
    assert "暂时无法使用" in page
    assert "您的数据是安全的" in page
    assert "10.0.0.7" not in page  # the cause goes to the log, not to the client


def test_an_english_reader_gets_the_page_in_english(client, client_bob, monkeypatch):
    client.force_login(client_bob)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with database_down(monkeypatch):
        response = client.get(reverse("support:index"))
    assert response.status_code == 503
    page = response.content.decode()
    assert "The portal is temporarily unavailable" in page
    assert "Your data is safe" in page
    assert f"try again in {RETRY_AFTER_SECONDS} seconds" in page


def test_a_public_page_whose_view_reads_the_database_answers_503_too(monkeypatch):
    with database_down(monkeypatch):
        response = Client().get(reverse("support:sla"))
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)


def test_the_status_json_the_dashboard_polls_answers_503_in_json(client, client_alice, monkeypatch):
    client.force_login(client_alice)
    with database_down(monkeypatch):
        response = client.get(reverse("margin:status"))
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"


def test_an_outage_that_escapes_the_middleware_still_gets_the_503_page():
    request = RequestFactory().get("/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503


def test_a_bug_is_still_a_500():
    request = RequestFactory().get("/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500


# --- sockets ----------------------------------------------------------------------------------


@pytest.fixture
def keep_test_db_connection(monkeypatch):
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


@pytest.fixture
def redis_gone(settings):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = redis_channel_layer("redis://127.0.0.1:1/0")  # nobody listens
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def notice_socket(client, user):
    from portal.asgi import application

    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, "/ws/notices/", headers=headers)


def test_a_notice_socket_opened_while_redis_is_down_is_closed_with_1013(
    client, client_alice, redis_gone, keep_test_db_connection
):
    socket = notice_socket(client, client_alice)

    async def scenario():
        accepted = await socket.connect(timeout=5)
        closed = await socket.receive_output(timeout=5)
        return accepted, closed

    accepted, closed = async_to_sync(scenario)()
    assert accepted[0] is True
    assert closed == {"type": "websocket.close", "code": 1013}


def test_a_socket_opened_while_the_database_is_down_is_closed_with_1013(
    client, client_alice, keep_test_db_connection, monkeypatch
):
    socket = notice_socket(client, client_alice)

    async def scenario():
        accepted = await socket.connect(timeout=5)
        closed = await socket.receive_output(timeout=5)
        return accepted, closed

    with database_down(monkeypatch):
        accepted, closed = async_to_sync(scenario)()
    assert accepted[0] is True
    assert closed == {"type": "websocket.close", "code": 1013}


def test_leaving_while_redis_is_down_raises_nothing(
    client, client_alice, keep_test_db_connection, monkeypatch
):
    import redis.exceptions
    from channels.layers import InMemoryChannelLayer, channel_layers

    monkeypatch.setattr(
        settings, "CHANNEL_LAYERS", {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    )
    channel_layers.backends.clear()
    socket = notice_socket(client, client_alice)

    async def gone(self, *args, **kwargs):
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    async def scenario():
        connected, _ = await socket.connect(timeout=5)
        monkeypatch.setattr(InMemoryChannelLayer, "group_discard", gone)
        await socket.disconnect(timeout=5)  # the discard fails: logged, not raised
        return connected

    try:
        assert async_to_sync(scenario)() is True
    finally:
        channel_layers.backends.clear()
