"""Order status pushed live to the client's open order pages (``/ws/trading/``).

Every change of an order's status or filled quantity — accepted, partly filled, filled, cancelled,
rejected, expired — goes, once its transaction commits, to the channel-layer group of the order's
account. Unlike the market-wide margin statuses (``margin.push``: one burst for every account,
fanned out in-process), these are rare and per client, so a group per account costs nothing
worth a hub. Best effort: the orders page and the in-app fill notice have it either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def account_group(account_id: int) -> str:
    """The group an account's order sockets join; the id comes from the session only."""
    return f"trading.account.{int(account_id)}"


def order_payload(order: Any) -> dict[str, Any]:
    return {
        "type": "order",
        "id": order.pk,
        "status": order.status,
        "quantity": order.quantity,
        "filled_quantity": order.filled_quantity,
        "side": order.side,
        "code": order.instrument.code,
        "reject_reason": order.reject_reason,
    }


def order_changed(order: Any) -> None:
    """Push the order's status to its account's sockets once the transaction commits."""
    payload = order_payload(order)
    account_id = order.account_id
    transaction.on_commit(lambda: _send(account_id, payload))


def _send(account_id: int, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "order.status", "account_id": account_id, "order": payload}
    try:
        loop = _thread_loop()
        if loop is not None:
            loop.run_until_complete(layer.group_send(account_group(account_id), message))
        else:
            async_to_sync(layer.group_send)(account_group(account_id), message)
    except Exception:
        logger.warning("Live order push to account %s failed", account_id, exc_info=True)


_threads = threading.local()


def _thread_loop() -> asyncio.AbstractEventLoop | None:
    """This thread's own event loop for the pushes, kept for the thread's life, when no event
    loop is at hand (the venue's step in a worker thread); None under ``sync_to_async`` or in a
    loop (``async_to_sync`` then runs it on the caller's loop).

    ``async_to_sync`` without a loop at hand starts a thread and a loop for each call, and the
    channel layer a Redis connection for each loop: 9 ms a push, in the venue's step between
    one fill's commit and the next fill (bench/order_to_status.py). One loop per thread keeps
    the layer's connection, and the pushes still go in the thread's order."""
    with contextlib.suppress(RuntimeError):
        asyncio.get_running_loop()
        return None
    if getattr(SyncToAsync.threadlocal, "main_event_loop", None) is not None:
        return None
    loop = getattr(_threads, "loop", None)
    if loop is None or loop.is_closed():
        loop = _threads.loop = asyncio.new_event_loop()
    return loop
