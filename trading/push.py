"""Order status pushed live to the client's open order pages (``/ws/trading/``).

Every change of an order's status or filled quantity — accepted, partly filled, filled, cancelled,
rejected, expired — goes, once its transaction commits, to the channel-layer group of the order's
account. Unlike the market-wide margin statuses (``margin.push``: one burst for every account,
fanned out in-process), these are rare and per client, so a group per account costs nothing
worth a hub. Best effort: the orders page and the in-app fill notice have it either way.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
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
    try:
        async_to_sync(layer.group_send)(
            account_group(account_id),
            {"type": "order.status", "account_id": account_id, "order": payload},
        )
    except Exception:
        logger.warning("Live order push to account %s failed", account_id, exc_info=True)
