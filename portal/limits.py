"""Request bodies over the limit are refused before they are read.

Django checks uploads only once the whole body has been received (and spooled to disk), so an
anonymous client could make every web process read 50 MB, many times over, for nothing. This ASGI
middleware sits in front of Django and answers 413 at once when the declared Content-Length is
over the limit; a body sent without a length (chunked) is cut off, and answered 413, as soon as
it passes the limit.

Two limits, because only signed-in clients upload much:

- REQUEST_BODY_MAX_BYTES_ANONYMOUS (6 MB) without a session cookie: the largest anonymous upload
  is a gate receipt PDF to /education/verify/, at most 5 MB;
- REQUEST_BODY_MAX_BYTES (60 MB) with one: a ticket message carries at most 5 files of 10 MB.

A forged cookie buys only the larger limit, which is still bounded; Django then applies each
form's own limits (DATA_UPLOAD_MAX_MEMORY_SIZE for the fields, per-file sizes in the forms).
"""

from __future__ import annotations

from django.conf import settings

_MESSAGE = "请求内容过大，未予处理。/ The request is too large and was not processed.\n".encode()


def _limit_for(scope) -> int:
    cookie_name = settings.SESSION_COOKIE_NAME.encode("latin-1")
    for name, value in scope.get("headers", []):
        if name == b"cookie" and cookie_name + b"=" in value:
            return settings.REQUEST_BODY_MAX_BYTES
    return settings.REQUEST_BODY_MAX_BYTES_ANONYMOUS


async def _refuse(send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(_MESSAGE)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _MESSAGE})


class RequestBodyLimit:
    """ASGI middleware for HTTP: refuse bodies over the limit (module doc) with 413."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.application(scope, receive, send)
        limit = _limit_for(scope)
        length = next((v for n, v in scope.get("headers", []) if n == b"content-length"), None)
        if length is not None:
            if not length.isdigit() or int(length) > limit:
                return await _refuse(send)
            return await self.application(scope, receive, send)

        received = 0
        over = False
        started = False

        async def counted_receive():
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Django sees the client go away and stops; the 413 goes out below.
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message):
            nonlocal started
            if over:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.application(scope, counted_receive, watched_send)
        if over and not started:
            await _refuse(send)
        return None
