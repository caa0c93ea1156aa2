"""Fixed-window counters in the cache, for limits allauth does not cover (uploads)."""

import time

from django.core.cache import cache

UPLOADS_PER_WINDOW = 30
WINDOW_SECONDS = 600


def hit(key: str, *, limit: int, window: int) -> bool:
    """Count one event for `key`; False once more than `limit` happened in the current window."""
    bucket = f"rl:{key}:{int(time.time()) // window}"
    cache.add(bucket, 0, timeout=window + 5)
    try:
        count = cache.incr(bucket)
    except ValueError:  # evicted between add and incr
        cache.set(bucket, 1, timeout=window + 5)
        count = 1
    return count <= limit


def upload_allowed(request) -> bool:
    ip = request.META.get("REMOTE_ADDR", "")
    by_user = hit(f"upload:user:{request.user.pk}", limit=UPLOADS_PER_WINDOW, window=WINDOW_SECONDS)
    by_ip = hit(f"upload:ip:{ip}", limit=UPLOADS_PER_WINDOW * 3, window=WINDOW_SECONDS)
    return by_user and by_ip
