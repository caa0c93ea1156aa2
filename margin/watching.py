"""Which accounts someone is looking at: the risk engine builds live statuses for those only.

Building, caching and publishing a status costs the engine about as much as everything else it
does for an account, and at 100,000 accounts a market-wide tick every second leaves no room for
100,000 statuses nobody reads (bench/tick_to_screen.py). So each open margin socket (and each
``status.json`` poll) marks its account as watched, and an engine run with
``push_to_watched_only`` builds statuses for watched accounts only: at once when the level
changes, otherwise at most once a second. Statuses it did not build are dropped from the cache,
so pages read the tables (where the new level is recorded in the same step, or in a fall right
after its pushes: ``RiskRunner.settle``) rather than an old copy; an account watched later gets
its status at once if its level moved meanwhile. While the marks cannot be read (Redis
restarting), every level change is built and pushed.

With Redis, the marks live in one hash, ``margin:watching`` (account id → expiry, Unix seconds),
shared by every web process and engine; a web process refreshes the marks of its open sockets
every ``REFRESH`` seconds, so a crashed process's marks lapse within ``TTL``. Without Redis
(embedded mode) the marks are this process's, where the engine also runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Iterable

from margin import push

logger = logging.getLogger(__name__)

KEY = "margin:watching"
TTL = 60.0
REFRESH = 20.0

_local: Counter[int] = Counter()  # open sockets of this process, by account
_expiry: dict[int, float] = {}  # without Redis: account → expiry
_refresher: dict[str, asyncio.Task] = {}
_clients: dict[str, object] = {}


def _client():
    import redis

    url = push.redis_url()
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=2
        )
    return client


def watch(account_ids: Iterable[int], *, now: float | None = None) -> None:
    """Mark accounts as watched for the next ``TTL`` seconds (best effort: never raises)."""
    ids = [int(a) for a in account_ids]
    if not ids:
        return
    expires = (time.time() if now is None else now) + TTL
    if not push.redis_url():
        for account_id in ids:
            _expiry[account_id] = expires
        return
    try:
        _client().hset(KEY, mapping={account_id: expires for account_id in ids})
    except Exception:
        logger.warning("Could not mark %d accounts as watched", len(ids), exc_info=True)


def watched(*, now: float | None = None) -> set[int]:
    """Accounts watched now; expired marks are cleared on the way (one script run on Redis)."""
    now = time.time() if now is None else now
    if not push.redis_url():
        live = {a for a, expires in _expiry.items() if expires > now}
        for account_id in set(_expiry) - live:
            del _expiry[account_id]
        return live | {a for a, n in _local.items() if n > 0}
    found = _client().register_script(_WATCHED_LUA)(keys=[KEY], args=[repr(float(now))])
    return {int(field) for field in found.split(b",")} if found else set()


# The live marks' accounts as one comma-separated reply, the expired ones deleted on the way:
# read with HGETALL, 5,000 marks were 10,000 replies parsed one by one in Python (redis-py's own
# parser), ~50 ms of the engine's CPU, and a fall's step reads them twice (issue 19). Redis'
# Lua numbers are doubles, as Python's floats: the same comparison. HDEL in slices: Lua's
# unpack() takes at most a few thousand values.
_WATCHED_LUA = """
local now, marks = tonumber(ARGV[1]), redis.call('HGETALL', KEYS[1])
local live, expired = {}, {}
for i = 1, #marks, 2 do
  if tonumber(marks[i + 1]) > now then
    live[#live + 1] = marks[i]
  else
    expired[#expired + 1] = marks[i]
  end
end
for i = 1, #expired, 1000 do
  redis.call('HDEL', KEYS[1], unpack(expired, i, math.min(i + 999, #expired)))
end
return table.concat(live, ',')
"""


async def socket_opened(account_id: int) -> None:
    """A margin socket of this process opened: mark its account, and keep marking it."""
    _local[account_id] += 1
    await asyncio.to_thread(watch, [account_id])
    _ensure_refreshing()


def socket_closed(account_id: int) -> None:
    """Its mark lapses by itself within ``TTL`` once no socket of any process refreshes it."""
    _local[account_id] -= 1
    if _local[account_id] <= 0:
        del _local[account_id]


def _ensure_refreshing() -> None:
    if not push.redis_url():
        return
    loop = asyncio.get_running_loop()
    key = str(id(loop))
    task = _refresher.get(key)
    if task is None or task.done():
        _refresher.clear()
        _refresher[key] = loop.create_task(_refresh())


async def _refresh() -> None:
    while _local:
        await asyncio.sleep(REFRESH)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(watch, list(_local))
