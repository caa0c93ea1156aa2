"""The book across the risk engine's partitions.

Each partition's runner reduces its engine to a ``book.Partial`` every few seconds and leaves it
in the cache (Redis in production) under its partition number; partition 0's monitor, the one
monitor of the platform, adds its own partial to the others and evaluates the book once. A
partial whose tick is more than ``MONITORING_BOOK_STALE_SECONDS`` of market time older than
partition 0's is still counted (its accounts did not vanish, their last known state is the best
there is) but the board says which partitions are stale or missing, so an officer knows the
figures are partly old.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache

from monitoring.book import Partial

# Partials outlive a pause in the feed (lunch, a restart) but not a day.
PARTIAL_TTL_SECONDS = 6 * 3600


def partial_key(*, partition: int, partitions: int) -> str:
    # The partition count is in the key: after re-partitioning, old partials are not read.
    return f"monitoring:book:partial:{partitions}:{partition}"


def partial_publish(partial: Partial) -> None:
    cache.set(
        partial_key(partition=partial.partition, partitions=partial.partitions),
        partial,
        PARTIAL_TTL_SECONDS,
    )


def partials_collect(own: Partial) -> tuple[list[Partial], dict[str, Any]]:
    """Partition 0's own partial and the others' latest, with what the board says about them."""
    partitions = own.partitions
    keys = {
        p: partial_key(partition=p, partitions=partitions)
        for p in range(partitions)
        if p != own.partition
    }
    found = cache.get_many(list(keys.values())) if keys else {}
    stale_after = datetime.timedelta(seconds=settings.MONITORING_BOOK_STALE_SECONDS)
    parts, missing, stale = [own], [], []
    for partition, key in keys.items():
        part = found.get(key)
        if not isinstance(part, Partial):
            missing.append(partition)
            continue
        if own.at is not None and part.at is not None and own.at - part.at > stale_after:
            stale.append(partition)
        parts.append(part)
    oldest = min((p.at for p in parts if p.at is not None), default=None)
    coverage = {
        "partitions": partitions,
        "reported": len(parts),
        "missing": missing,
        "stale": stale,
        "oldest_at": oldest.isoformat() if oldest else None,
    }
    return parts, coverage
