"""Embedded mode (`make run`): SQLite, in-memory channel layer, eager Celery, console mail/SMS."""

from urllib.parse import urlsplit

from .base import *  # noqa: F403

DEBUG = True
# `make run HOST=… PORT=…` passes PORTAL_BASE_URL (base.py): the portal answers on that host too,
# and its forms post from that origin. The WebSocket origin check follows ALLOWED_HOSTS.
_base = urlsplit(PORTAL_BASE_URL)  # noqa: F405
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", *([_base.hostname] if _base.hostname else [])]
CSRF_TRUSTED_ORIGINS = [
    "http://127.0.0.1:8000",
    "http://localhost:8000",
    f"{_base.scheme}://{_base.netloc}",
]
# The simulated market feed and the risk engine run inside the ASGI process (see margin.embedded).
MARGIN_ENGINE_EMBEDDED = True
# The simulated venue's loop too (trading.embedded).
TRADING_VENUE_EMBEDDED = True
# No beat process either: its schedule runs inside the ASGI process (portal.embedded).
EMBEDDED_BEAT = True
