"""Market-wide reference data the pre-trade check reads, kept in this process for a second.

The check runs on every ticket refresh and every submission; most of what it used to read from
the database is the same for every client and changes rarely, and then by a dated publication or
a staff decision: the high-risk collateral rate and the fee schedule in force, the volatility
regime, market measures and the platform's freeze line, trading halts, the risk disclosure in
force, whether a day is a trading day. Re-reading those cost ten of the check's seventeen queries
(bench/pretrade.py). They are kept here for ``settings.TRADING_REFERENCE_SECONDS`` (1 s; 0 turns
the memo off, as the tests do), so a ticket or a submission may see a halt or a measure up to a
second late — no later than the risk engine's own pushes — and the check at execution
(``services.fill_record``) reads them fresh (``fresh=True``): nothing fills against a halt.

What is the client's own (balances, contract, positions, orders, restrictions, rating, gate) is
never kept here: it is read from the database on every check. Nor, since the tail of the check
was traced to it, is what stops a purchase for everyone: the ticket's and submission's check read
halts, measures, the regime, the high-risk rate and the risk disclosure in force in their own
statement (``pretrade.market_columns``), as execution does, so a halt binds the next check at
once. What is still kept here: the trading calendar's day, the fee schedule of a contract
without a recorded version (final once its start day is past), and ``pretrade.market()`` for
the table-by-table reading (``pretrade.load``) and a venue step's fills.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

_memo: dict[Any, tuple[float, Any]] = {}
_lock = threading.Lock()


def get(key: Any, load: Callable[[], Any], *, fresh: bool = False, final: bool = False) -> Any:
    """``load()``'s result, reused for ``TRADING_REFERENCE_SECONDS`` in this process; ``final``:
    for the process's life (an answer that cannot change), unless the memo is off."""
    ttl = float(getattr(settings, "TRADING_REFERENCE_SECONDS", 1.0))
    if fresh or ttl <= 0:
        return load()
    if final:
        ttl = float("inf")
    now = time.monotonic()
    found = _memo.get(key)
    if found is not None and now - found[0] < ttl:
        return found[1]
    value = load()
    with _lock:
        _memo[key] = (now, value)
    return value


def forget(prefix: str | None = None) -> None:
    """Drop what is kept (all of it, or the keys starting with ``prefix``): a staff decision
    taken in this process (a halt) binds this process's next check at once."""
    with _lock:
        for key in list(_memo):
            if prefix is None or (isinstance(key, tuple) and key[0] == prefix):
                _memo.pop(key, None)
