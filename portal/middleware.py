"""Request and response rules that hold for every page, and the portal's refusal pages.

NoStoreMiddleware and RefuseNulMiddleware hold for every page whatever view answers it.

While PostgreSQL or Redis is down (restarting, failing over) a page answers 503 with a translated
"temporarily unavailable, your data is safe" page and ``Retry-After``, not Django's 500; a
WebSocket is closed with 1013 (try again later), which the portal's scripts retry with back-off.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
CLOSE_TRY_AGAIN_LATER = 1013  # RFC 6455 §7.4.1 (registered code): a temporary condition


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` means a backing service is unreachable, rather than a bug."""
    import kombu.exceptions
    import redis.exceptions
    from django.db import InterfaceError, OperationalError

    return isinstance(
        exc,
        (
            OperationalError,  # PostgreSQL down, restarting, or refusing connections
            InterfaceError,  # a connection that died under us
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            kombu.exceptions.OperationalError,  # the broker, when a view queues a task
        ),
    )


def unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The 503 answer. Rendered without the request's context processors: they read the database."""
    logger.warning("503 for %s: %s: %s", request.path, type(exc).__name__, exc)
    if "application/json" in request.headers.get("Accept", "") or request.path.endswith(".json"):
        response: HttpResponse = JsonResponse(
            {"error": "unavailable", "message": _("Temporarily unavailable. Your data is safe.")},
            status=503,
        )
    else:
        body = render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS})
        response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


class ServiceUnavailableMiddleware:
    """503 instead of 500 when the database or Redis is down. Sits right after
    AuthenticationMiddleware: the session and the user are loaded here, inside the guard, because
    whichever middleware touched them first would otherwise raise out of reach of
    ``process_exception`` and Django would answer its 500 page."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            _load = request.user.is_authenticated
        except Exception as exc:
            if is_outage(exc):
                return unavailable(request, exc)
            raise
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return unavailable(request, exception) if is_outage(exception) else None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: what escaped the middleware (a session saved after the database went down)
    still gets the 503 page when the cause is an outage; anything else is Django's 500."""
    exc = sys.exc_info()[1]
    if exc is not None and is_outage(exc):
        return unavailable(request, exc)
    return defaults.server_error(request)


class WebSocketOutageMiddleware:
    """ASGI: a socket whose handshake or life fails on an outage is closed with 1013, never failed
    with a 500 (or left to the server's 1011). Joining a channel-layer group while Redis is down
    is the common case; the browser reconnects with back-off."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        state = {"accepted": False, "closed": False}

        async def watching_receive() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                state["closed"] = True
            return message

        async def watching_send(message: dict[str, Any]) -> None:
            if message["type"] == "websocket.accept":
                state["accepted"] = True
            elif message["type"] == "websocket.close":
                state["closed"] = True
            await send(message)

        try:
            await self.app(scope, watching_receive, watching_send)
        except Exception as exc:
            if scope["type"] != "websocket" or not is_outage(exc):
                raise
            logger.warning("WebSocket %s closed (1013): %s: %s", scope["path"], type(exc), exc)
            if state["closed"]:
                return  # the client is gone already (a group_discard failing on disconnect)
            if not state["accepted"]:
                # Accept first: a refused handshake reaches the browser as 1006, without our code.
                await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})


# Pages that carry a secret in the URL or the page even before sign-in (reset and verification
# links, survey links) and the admin: never kept by a browser or a proxy.
_ALWAYS_PRIVATE = ("/accounts/", "/admin/", "/support/survey/")


class NoStoreMiddleware:
    """`Cache-Control: private, no-store` on every response to a signed-in person and on the
    pages above: funds, tickets, statements, receipts, exports, KYC pages and the rest are about
    one client and must not outlive the visit in a shared computer's cache or a proxy.

    Public pages for anonymous visitors (home, disclosures, the SLA statistics) stay cacheable.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in or request.path.startswith(_ALWAYS_PRIVATE):
            patch_cache_control(response, private=True, no_store=True)
        return response


def _holds_nul(values) -> bool:
    return any("\x00" in key or any("\x00" in v for v in vals) for key, vals in values.lists())


class RefuseNulMiddleware:
    """A NUL character anywhere in the query or the form is refused with a clear message.

    PostgreSQL cannot store one in a text column, so a NUL typed (or pasted, or forged) into any
    field would reach the database and fail there as a server error, after part of the work was
    done. Nobody types one on purpose: the whole request is refused before any view runs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or _holds_nul(request.GET):
            return self._refuse(request)
        if request.method == "POST" and (
            _holds_nul(request.POST)
            or any("\x00" in (f.name or "") for f in request.FILES.values())
        ):
            return self._refuse(request)
        return self.get_response(request)

    @staticmethod
    def _refuse(request):
        message = _(
            "Your request contained an invisible control character (NUL) that cannot be stored. "
            "Nothing was saved. Please retype the text and send it again."
        )
        return render(request, "portal/bad_request.html", {"message": message}, status=400)
