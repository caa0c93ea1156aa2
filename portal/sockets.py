"""WebSockets that belong to a session: a strict origin check, and an end when the session ends.

A socket is authenticated once, at the handshake, from the session cookie. Without more, it would
keep streaming a client's margin status and notices after they sign out, change their password,
are deactivated, or have their session revoked — to whoever holds the stolen cookie's socket.
So every socket is watched (`guard`), by an ASGI middleware around the consumers
(`SessionBoundSockets`, wired in portal.asgi), so no consumer can forget it:

- an accepted socket is registered with the session key and the user's session hash it was
  opened under, and forgotten when it closes;
- one task per process re-checks all of them together every SOCKET_SESSION_CHECK_SECONDS (2 s):
  one query for the sessions, one for the users, however many sockets are open, and a session's
  stored data is decoded again only when it changed;
- a socket whose session is gone or expired (sign-out, revocation), whose user is inactive, whose
  session no longer authenticates its user, or that was opened before the user's password changed
  is closed with 4001. The page reconnects at once, and the fresh handshake decides: a signed-out
  cookie is refused with 4401 (and the page stops), while the tab of the person who changed their
  password — Django gave that session a new key and hash — is let back in.

Polling, not signals: sessions are deleted by sign-out, by an operator, by `clearsessions`, and
users deactivated by queryset updates — none of which all send a signal this process would hear.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Protocol
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.http.request import split_domain_port, validate_host
from django.utils import timezone
from django.utils.crypto import constant_time_compare

logger = logging.getLogger(__name__)

# "Your session changed: reconnect and authenticate again" (4000–4999 are for applications).
CLOSE_SESSION_CHANGED = 4001


class Socket(Protocol):
    async def close(self, code: int) -> None: ...


@dataclass(frozen=True)
class Grant:
    """What a socket was authenticated with at its handshake."""

    user_id: int
    session_key: str
    auth_hash: str


def grant_for(scope: dict[str, Any]) -> Grant | None:
    """The grant of an authenticated socket's scope (AuthMiddlewareStack), or None."""
    user = scope.get("user")
    session = scope.get("session")
    key = getattr(session, "session_key", None)
    if user is None or not user.is_authenticated or not key:
        return None
    return Grant(user_id=user.pk, session_key=key, auth_hash=user.get_session_auth_hash())


# --- which grants have ended (sync: runs in a thread) ------------------------------------------


_decoded: dict[str, tuple[str, dict[str, Any]]] = {}  # session key → (raw data, decoded)


def _session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def _live_sessions(keys: set[str]) -> dict[str, dict[str, Any]]:
    """The decoded data of the sessions among `keys` that still exist and have not expired."""
    store = _session_store()
    found: dict[str, dict[str, Any]] = {}
    if hasattr(store, "get_model_class"):  # database-backed: one query for all of them
        rows = (
            store.get_model_class()
            .objects.filter(session_key__in=keys, expire_date__gt=timezone.now())
            .values_list("session_key", "session_data")
        )
        for key, raw in rows:
            cached = _decoded.get(key)
            if cached is None or cached[0] != raw:
                cached = (raw, store().decode(raw))
                _decoded[key] = cached
            found[key] = cached[1]
        for key in set(_decoded) - set(found):
            del _decoded[key]
    else:
        for key in keys:
            session = store(session_key=key)
            data = session.load()
            if session.session_key is not None and data:
                found[key] = data
    return found


def ended(grants: dict[Any, Grant]) -> set[Any]:
    """Of `grants` (socket → grant), the sockets whose session no longer holds (module doc)."""
    from django.contrib.auth import get_user_model

    if not grants:
        return set()
    sessions = _live_sessions({g.session_key for g in grants.values()})
    users = {
        user.pk: user
        for user in get_user_model()
        .objects.filter(pk__in={g.user_id for g in grants.values()})
        .only("pk", "password", "is_active")
    }
    gone = set()
    for socket, grant in grants.items():
        user = users.get(grant.user_id)
        data = sessions.get(grant.session_key)
        if user is None or not user.is_active or data is None:
            gone.add(socket)
            continue
        current = user.get_session_auth_hash()
        holds = (
            str(data.get(SESSION_KEY)) == str(grant.user_id)
            and data.get(BACKEND_SESSION_KEY) in settings.AUTHENTICATION_BACKENDS
            and constant_time_compare(data.get(HASH_SESSION_KEY, ""), current)
            and constant_time_compare(grant.auth_hash, current)
        )
        if not holds:
            gone.add(socket)
    return gone


# --- the watcher (async: one per process and event loop) ---------------------------------------


class SessionGuard:
    def __init__(self) -> None:
        self._grants: dict[Socket, Grant] = {}
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def watch(self, socket: Socket, grant: Grant) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new event loop (tests run each scenario on its own): sockets of the old one are
            # gone with it.
            self._grants.clear()
            self._loop, self._task = loop, None
        self._grants[socket] = grant
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="portal.sockets.guard")

    def forget(self, socket: Socket) -> None:
        self._grants.pop(socket, None)

    def watching(self) -> int:
        return len(self._grants)

    async def check_now(self) -> int:
        """Close every socket whose session has ended; return how many were closed."""
        grants = dict(self._grants)
        if not grants:
            return 0
        gone = await database_sync_to_async(ended)(grants)
        for socket in gone:
            self.forget(socket)
            try:
                await socket.close(code=CLOSE_SESSION_CHANGED)
            except Exception:  # a socket closing on its own at the same moment
                logger.debug("Closing a socket whose session ended failed", exc_info=True)
        return len(gone)

    async def _run(self) -> None:
        while self._grants:
            await asyncio.sleep(settings.SOCKET_SESSION_CHECK_SECONDS)
            try:
                await self.check_now()
            except Exception:
                # The database away for a moment must not stop the guard for good.
                logger.warning("Socket session check failed; retrying", exc_info=True)


guard = SessionGuard()


class _Connection:
    """One socket as the guard sees it: closing it sends the ASGI close on the consumer's behalf."""

    def __init__(self, send) -> None:
        self._send = send
        self.closed = False

    async def close(self, code: int) -> None:
        if not self.closed:
            self.closed = True
            await self._send({"type": "websocket.close", "code": code})


class SessionBoundSockets:
    """ASGI middleware (inside AuthMiddlewareStack): every authenticated socket is watched by
    `guard` from its accept to its close. After the guard closes it, whatever the consumer still
    sends is dropped; the server then tells the consumer it disconnected, as for any close."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        grant = grant_for(scope) if scope["type"] == "websocket" else None
        if grant is None:
            return await self.application(scope, receive, send)
        connection = _Connection(send)

        async def guarded_send(message):
            kind = message["type"]
            if connection.closed and kind in ("websocket.send", "websocket.close"):
                return
            if kind == "websocket.accept":
                guard.watch(connection, grant)
            elif kind == "websocket.close":
                connection.closed = True
                guard.forget(connection)
            await send(message)

        async def guarded_receive():
            message = await receive()
            if message["type"] == "websocket.disconnect":
                guard.forget(connection)
            return message

        try:
            return await self.application(scope, guarded_receive, guarded_send)
        finally:
            guard.forget(connection)


# --- the origin check ------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_tuple(scheme: str, host: str) -> tuple[str, str, int] | None:
    domain, port = split_domain_port(host)
    if not domain or scheme not in _DEFAULT_PORTS:
        return None
    try:
        return scheme, domain, int(port) if port else _DEFAULT_PORTS[scheme]
    except ValueError:
        return None


def origin_allowed(scope: dict[str, Any]) -> bool:
    """Whether the handshake comes from a page of this site: the Origin's scheme, host and port
    are those the request was made to (on a host in ALLOWED_HOSTS), or an exact entry of
    CSRF_TRUSTED_ORIGINS. No Origin, no socket: every browser sends one."""
    headers = {name.lower(): value for name, value in scope.get("headers", [])}
    raw_origin = headers.get(b"origin", b"").decode("latin-1").strip()
    host = headers.get(b"host", b"").decode("latin-1").strip().lower()
    if not raw_origin or raw_origin == "null" or not host:
        return False
    parsed = urlsplit(raw_origin.lower())
    origin = _origin_tuple(parsed.scheme, parsed.netloc)
    if origin is None:
        return False
    trusted = {
        _origin_tuple(urlsplit(o.lower()).scheme, urlsplit(o.lower()).netloc)
        for o in getattr(settings, "CSRF_TRUSTED_ORIGINS", [])
    }
    if origin in trusted:
        return True
    request_scheme = "https" if scope.get("scheme", "ws") in ("wss", "https") else "http"
    served = _origin_tuple(request_scheme, host)
    domain, _port = split_domain_port(host)
    return served is not None and origin == served and validate_host(domain, settings.ALLOWED_HOSTS)


class StrictOriginValidator:
    """ASGI middleware: refuse a WebSocket handshake whose origin is not this site (above)."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 4403})
            return None
        return await self.application(scope, receive, send)
