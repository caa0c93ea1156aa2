"""Drainers: the tasks that empty the outbox when its own delivery tasks are gone or behind.

Each notice queues its own delivery task when it is written, which is all it needs while the
broker keeps its queue. A Redis restart without persistence wipes that queue, a dead worker takes
its prefetched tasks with it, and a database outage fails the tasks that ran during it; the rows
stay due in the outbox, and nothing is left in the broker to deliver them. The old sweep queued at
most 1,000 of them a minute, so a backlog of N rows took N/1,000 minutes.

Now, whenever rows are due, the sweep makes sure ``NOTICES_DRAINERS`` drainers are at work: tasks
that claim the longest-waiting due rows one after another (``leases.claim_next_due``) for one sweep
period, and hand on to a successor while rows remain. Set it to the total worker concurrency
(workers × ``CELERY_CONCURRENCY``) and a backlog drains at the outbox's full delivery rate.

A drainer holds a numbered slot, a cache key with a fresh token. The sweep starts a drainer only
for a free slot, so drainers never pile up in the queue; a drainer whose slot has expired (its
message sat in the queue too long, or the cache was wiped) finds another token there and stops.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache


def _key(slot: int) -> str:
    return f"notices:drainer:{slot}"


def _ttl() -> int:
    # Long enough for a drainer to wait its turn in the queue and work one period.
    return max(3 * settings.NOTICES_SWEEP_SECONDS, 30)


def reserve(slot: int) -> str | None:
    """A token for a drainer in `slot`, or None while another drainer holds the slot."""
    token = uuid.uuid4().hex
    return token if cache.add(_key(slot), token, timeout=_ttl()) else None


def holds(slot: int, token: str) -> bool:
    """Whether the drainer with `token` still owns `slot`; if so, keep the slot for it."""
    if cache.get(_key(slot)) != token:
        return False
    cache.touch(_key(slot), timeout=_ttl())
    return True


def release(slot: int, token: str) -> None:
    if cache.get(_key(slot)) == token:
        cache.delete(_key(slot))
