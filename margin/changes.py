"""What the risk engine hears to reload changed accounts at once: a counter, and their ids.

A service that changes what the engine holds (a fill moving a position and the cash) stamps the
account's ``state_changed_at`` and announces it; once its transaction commits, the announcement
(1) bumps a counter in the cache (Redis in production, shared by every process; this process's
memory in embedded mode, where the engine runs in the same process), and (2) with Redis, publishes
the account's id on ``CHANNEL``. A runner subscribed to the channel wakes on the message and
reloads exactly those accounts (``RiskRunner.run``): no polling interval, no re-reading every
account stamped in the last seconds. Without Redis, or while its subscription is down, the runner
reads the counter between steps and reloads the accounts stamped since its last look. Either way
the client sees the new position in their pushed status within the issue's one second; a lost
message (Redis restarting, a runner subscribing late) is caught by the engine's periodic look,
which reads ``state_changed_at``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

KEY = "margin:accounts-changed"
# Every runner of every partition hears every id and keeps its own (``RiskRunner._reload`` reads
# only its partition's accounts). Pub/sub channels are Redis-wide, not per database: the name is
# taken through ``margin.push.pubsub_name``, which tells this deployment's database apart.
CHANNEL = "margin:accounts-changed"


def channel() -> str:
    """``CHANNEL`` as this deployment's Redis database hears it (``margin.push.pubsub_name``)."""
    from margin.push import pubsub_name

    return pubsub_name(CHANNEL)


_client: dict[str, Any] = {}
_client_lock = threading.Lock()


def announce(account_ids: Iterable[int] = ()) -> None:
    """Tell the engine, once the current transaction commits, that these accounts changed
    (none given: some account, found by its ``state_changed_at``)."""
    ids = sorted({int(a) for a in account_ids})
    transaction.on_commit(lambda: _bump(ids))


def _bump(account_ids: list[int]) -> None:
    try:
        try:
            cache.incr(KEY)
        except ValueError:  # not set yet (or evicted)
            if not cache.add(KEY, 1, None):
                cache.incr(KEY)
    except Exception:
        # Redis restarting: the engine's periodic look (reload_interval) still finds the account.
        logger.warning("Could not signal a changed account to the risk engine", exc_info=True)
    if account_ids:
        _publish(account_ids)


def _publish(account_ids: list[int]) -> None:
    from margin.push import redis_url

    url = redis_url()
    if not url:
        return  # embedded without Redis: the runner reads the counter
    try:
        client = _client.get(url)
        if client is None:
            import redis

            with _client_lock:
                client = _client.setdefault(
                    url, redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
                )
        client.publish(channel(), ",".join(map(str, account_ids)))
    except Exception:
        logger.warning("Could not publish changed accounts to the risk engine", exc_info=True)


def parse(message: bytes | str) -> list[int]:
    """The account ids of one message on ``CHANNEL`` (garbage is ignored)."""
    text = message.decode() if isinstance(message, bytes) else message
    return [int(part) for part in text.split(",") if part.strip().isdigit()]


def mark() -> int | None:
    """The counter's value now (compare two marks: a difference means something changed)."""
    try:
        return cache.get(KEY)
    except Exception:
        return None
