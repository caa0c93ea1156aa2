"""Fixed-window counters in the cache, for limits allauth does not cover (uploads, the gate's
re-authentication, ticket opening).

A try the server fails to finish is not the client's doing: ``ServerErrorsDoNotCount`` takes every
count made while serving a request back off when that request ends in a server error (5xx), so a
database hiccup can never lock a client out of their own confirmation.
"""

from __future__ import annotations

import contextlib
import time
from contextvars import ContextVar

from django.core.cache import cache

UPLOADS_PER_WINDOW = 30
WINDOW_SECONDS = 600

# The buckets counted while serving the current request (None outside one).
_counted: ContextVar[list[str] | None] = ContextVar("ratelimits_counted", default=None)


def hit(key: str, *, limit: int, window: int) -> bool:
    """Count one event for `key`; False once more than `limit` happened in the current window."""
    bucket = f"rl:{key}:{int(time.time()) // window}"
    cache.add(bucket, 0, timeout=window + 5)
    try:
        count = cache.incr(bucket)
    except ValueError:  # evicted between add and incr
        cache.set(bucket, 1, timeout=window + 5)
        count = 1
    counted = _counted.get()
    if counted is not None:
        counted.append(bucket)
    return count <= limit


def upload_allowed(request) -> bool:
    ip = request.META.get("REMOTE_ADDR", "")
    by_user = hit(f"upload:user:{request.user.pk}", limit=UPLOADS_PER_WINDOW, window=WINDOW_SECONDS)
    by_ip = hit(f"upload:ip:{ip}", limit=UPLOADS_PER_WINDOW * 3, window=WINDOW_SECONDS)
    return by_user and by_ip


def _uncount(buckets: list[str]) -> None:
    for bucket in buckets:
        with contextlib.suppress(ValueError):  # the window ended meanwhile: nothing to take back
            cache.decr(bucket)
    buckets.clear()


class ServerErrorsDoNotCount:
    """Middleware: a request answered with a server error takes back the tries it counted."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        counted: list[str] = []
        token = _counted.set(counted)
        try:
            response = self.get_response(request)
        except BaseException:
            _uncount(counted)
            raise
        finally:
            _counted.reset(token)
        if response.status_code >= 500:
            _uncount(counted)
        return response
