"""A counter the risk engine watches to reload changed accounts at once.

A service that changes what the engine holds (a fill moving a position and the cash) stamps the
account's ``state_changed_at`` and, once its transaction commits, bumps this counter in the cache
(Redis in production, shared by every process; this process's memory in embedded mode, where the
engine runs in the same process). The runner reads it before each step and between steps, and
reloads the changed accounts when it moved, instead of on its next look two seconds later: the
client sees the new position in their pushed status within the issue's one second. Only a change
is signalled; which accounts changed is still read from ``state_changed_at``.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

KEY = "margin:accounts-changed"


def announce() -> None:
    """Tell the engine, once the current transaction commits, that some account changed."""
    transaction.on_commit(_bump)


def _bump() -> None:
    try:
        try:
            cache.incr(KEY)
        except ValueError:  # not set yet (or evicted)
            if not cache.add(KEY, 1, None):
                cache.incr(KEY)
    except Exception:
        # Redis restarting: the engine's periodic look (reload_interval) still finds the account.
        logger.warning("Could not signal a changed account to the risk engine", exc_info=True)


def mark() -> int | None:
    """The counter's value now (compare two marks: a difference means something changed)."""
    try:
        return cache.get(KEY)
    except Exception:
        return None
