"""Readiness probes for the services the portal depends on.

Each probe returns None when the service answers and a short reason when it does not; none of them
may raise, and each is bounded in time so /readyz answers even when a service hangs.

Operators (a monitor holding ``READYZ_TOKEN``) also get ``details``: whether the outbox keeps up
(the oldest due row's age). They never decide readiness: a web process cannot fix a stalled
outbox, and taking it out of the load balancer would only add a second outage.
"""

import logging
import uuid

from asgiref.sync import async_to_sync
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

logger = logging.getLogger(__name__)


def _reason(exc: Exception) -> str:
    """Publicly only the kind of failure; the detail (hosts, users) goes to the log."""
    logger.warning("readiness probe failed: %s: %s", type(exc).__name__, exc)
    return type(exc).__name__


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return _reason(exc)
    return None


def check_cache() -> str | None:
    key = f"readyz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=5)
        ok = cache.get(key) == "1"
        cache.delete(key)
    except Exception as exc:
        return _reason(exc)
    return None if ok else "value written was not read back"


def check_channel_layer() -> str | None:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return "no channel layer configured"

    async def roundtrip() -> bool:
        channel = await layer.new_channel("readyz.")
        await layer.send(channel, {"type": "readyz.ping"})
        message = await layer.receive(channel)
        return message.get("type") == "readyz.ping"

    async def bounded() -> bool:
        import asyncio

        return await asyncio.wait_for(roundtrip(), timeout=3)

    try:
        ok = async_to_sync(bounded)()
    except Exception as exc:
        return _reason(exc)
    return None if ok else "message sent was not received"


def check_broker() -> str | None:
    from portal.celery import app

    if app.conf.task_always_eager:
        return None  # embedded mode: tasks run in-process, there is no broker to reach
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        return _reason(exc)
    return None


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
    "broker": check_broker,
}


def readiness() -> dict[str, str | None]:
    return {name: probe() for name, probe in CHECKS.items()}


def details() -> dict[str, object]:
    """What operators need beyond up/down. Never raises."""
    from notices import selectors as notices

    try:
        outbox = notices.outbox_health(now=timezone.now())
    except Exception as exc:
        return {"outbox": {"error": _reason(exc)}}
    return {
        "outbox": {
            "due": outbox.due,
            "oldest_due_seconds": outbox.oldest_due_seconds,
            "sending": outbox.sending,
            "expired_leases": outbox.expired_leases,
            "stalled": outbox.stalled,
        }
    }
