"""/ws/margin/ and /ws/notices/ end with the session, and only this site may open them.

The attacks this pins: a stolen session cookie's socket keeps streaming a client's margin status
and notices after the client signs out, changes their password, is deactivated or has the session
revoked; and a page on another port or scheme of the same host (a forgotten admin tool on :8080,
a plain-http mirror) opens a socket with the client's cookie, which a host-only origin check let
through.
"""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts.models import User
from portal.sockets import CLOSE_SESSION_CHANGED, guard, origin_allowed
from tests.factories import PASSWORD
from tests.margin.conftest import make_account
from tests.notices.ws import WebsocketCommunicator

pytestmark = pytest.mark.django_db
PATHS = ("/ws/margin/", "/ws/notices/")
# The guard checks every SOCKET_SESSION_CHECK_SECONDS (2 s in production); "within a few seconds".
WITHIN = 5


@pytest.fixture(autouse=True)
def _fast_guard_and_local_layers(settings, monkeypatch):
    from channels.layers import channel_layers

    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)
    settings.SOCKET_SESSION_CHECK_SECONDS = 0.2
    settings.REDIS_URL = ""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def alice(client_alice):
    make_account(client_alice)
    return client_alice


def change(browser: Client, new: str = "A-new-passphrase-77"):
    return browser.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )


def signed_in(user) -> Client:
    browser = Client()
    browser.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert "_auth_user_id" in browser.session
    return browser


def socket(browser: Client, path: str, origin: bytes = b"http://testserver"):
    from portal.asgi import application

    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    headers = [(b"origin", origin), (b"host", b"testserver"), (b"cookie", cookie.encode())]
    return WebsocketCommunicator(application, path, headers=headers)


async def _closed_with(communicator) -> int:
    """Read until the socket is closed (pushes may come first); the close code."""
    while True:
        message = await communicator.receive_output(timeout=WITHIN)
        if message["type"] == "websocket.close":
            return message["code"]


async def _refusal(communicator) -> int | None:
    """An accepted handshake is refused by a close straight after; a signed-in one is not."""
    if await communicator.receive_nothing(timeout=1):
        return None
    message = await communicator.receive_output()
    return message["code"] if message["type"] == "websocket.close" else None


def open_then(browser, path, action):
    """Open a socket on `browser`'s session and run `action` (sync): the code the socket is closed
    with, and how a reconnect with the browser's cookie then ends (4401: sign in first)."""
    communicator = socket(browser, path)

    async def scenario():
        connected, _ = await communicator.connect()
        assert connected
        await sync_to_async(action)()
        code = await _closed_with(communicator)
        await communicator.disconnect()
        again = socket(browser, path)
        await again.connect()
        refused = await _refusal(again)
        await again.disconnect()
        return code, refused

    return async_to_sync(scenario)()


ENDED = (CLOSE_SESSION_CHANGED, 4401)  # closed, and the reconnect is told to sign in


@pytest.mark.parametrize("path", PATHS)
def test_signing_out_closes_the_socket(alice, path):
    browser = signed_in(alice)
    assert open_then(browser, path, lambda: browser.post(reverse("account_logout"))) == ENDED


@pytest.mark.parametrize("path", PATHS)
def test_a_revoked_session_closes_the_socket(alice, path):
    browser = signed_in(alice)
    key = browser.session.session_key
    assert open_then(browser, path, Session.objects.filter(session_key=key).delete) == ENDED


@pytest.mark.parametrize("path", PATHS)
def test_deactivating_the_client_closes_the_socket(alice, path):
    browser = signed_in(alice)

    def deactivate():
        User.objects.filter(pk=alice.pk).update(is_active=False)

    assert open_then(browser, path, deactivate) == ENDED


@pytest.mark.parametrize("path", PATHS)
def test_a_password_change_closes_the_sockets_of_every_other_session(alice, path):
    thief, owner = signed_in(alice), signed_in(alice)

    def change_password():
        owner.post(reverse("account_reauthenticate"), {"password": PASSWORD})
        assert change(owner).status_code == 302

    assert open_then(thief, path, change_password) == ENDED


def test_the_tab_of_whoever_changed_the_password_reconnects_and_stays(alice):
    owner = signed_in(alice)

    def change_password():
        owner.post(reverse("account_reauthenticate"), {"password": PASSWORD})
        change(owner)

    code, refused = open_then(owner, "/ws/notices/", change_password)
    assert code == CLOSE_SESSION_CHANGED and refused is None  # let back in
    again = socket(owner, "/ws/notices/")

    async def stays():
        await again.connect()
        await guard.check_now()
        quiet = await again.receive_nothing(timeout=0.5)
        await again.disconnect()
        return quiet

    assert async_to_sync(stays)() is True


def test_a_socket_whose_session_is_fine_stays_open(alice, client_bob):
    bob = signed_in(client_bob)
    alices = signed_in(alice)
    bob_socket, alice_socket = socket(bob, "/ws/notices/"), socket(alices, "/ws/notices/")

    async def scenario():
        await bob_socket.connect()
        await alice_socket.connect()
        await sync_to_async(alices.post)(reverse("account_logout"))
        alice_closed = await _closed_with(alice_socket)
        bob_alive = await bob_socket.receive_nothing(timeout=0.5)
        await bob_socket.disconnect()
        await alice_socket.disconnect()
        return alice_closed, bob_alive

    assert async_to_sync(scenario)() == (CLOSE_SESSION_CHANGED, True)


# --- origin: scheme, host and port ---------------------------------------------------------------


def scope(origin: str | None, host: str = "testserver", scheme: str = "ws"):
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": headers}


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "allowed"),
    [
        ("http://testserver", "testserver", "ws", True),
        ("https://testserver", "testserver", "wss", True),
        ("http://localhost:8000", "localhost:8000", "ws", True),
        ("HTTP://TestServer", "testserver", "ws", True),
        ("https://testserver", "testserver", "ws", False),  # scheme differs
        ("http://testserver", "testserver", "wss", False),  # a plain-http page, a TLS socket
        ("http://testserver:8080", "testserver", "ws", False),  # port differs
        ("http://localhost:8001", "localhost:8000", "ws", False),
        ("http://evil.example", "testserver", "ws", False),
        ("http://testserver.evil.example", "testserver", "ws", False),
        ("http://evil.example", "evil.example", "ws", False),  # not one of ALLOWED_HOSTS
        ("null", "testserver", "ws", False),
        (None, "testserver", "ws", False),
    ],
)
def test_the_origin_must_be_this_site_by_scheme_host_and_port(origin, host, scheme, allowed):
    assert origin_allowed(scope(origin, host, scheme)) is allowed


def test_a_trusted_origin_is_matched_exactly(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://portal.wangrun.example"]
    assert origin_allowed(scope("https://portal.wangrun.example", "10.0.0.5:8000"))
    assert not origin_allowed(scope("http://portal.wangrun.example", "10.0.0.5:8000"))
    assert not origin_allowed(scope("https://portal.wangrun.example:8443", "10.0.0.5:8000"))


@pytest.mark.parametrize("path", PATHS)
def test_a_page_on_another_port_of_the_same_host_cannot_open_a_socket(alice, path):
    communicator = socket(signed_in(alice), path, origin=b"http://testserver:8080")

    async def scenario():
        connected, code = await communicator.connect()
        return connected, code

    assert async_to_sync(scenario)() == (False, 4403)
