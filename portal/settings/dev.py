"""Embedded mode (`make run`): SQLite, in-memory channel layer, eager Celery, console mail/SMS."""

from .base import *  # noqa: F403

DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
# Plain http on loopback: the WebSocket origin check still applies through ALLOWED_HOSTS.
CSRF_TRUSTED_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000"]
# The simulated market feed and the risk engine run inside the ASGI process (see margin.embedded).
MARGIN_ENGINE_EMBEDDED = True
# No beat process either: its schedule runs inside the ASGI process (portal.embedded).
EMBEDDED_BEAT = True
