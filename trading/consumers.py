"""/ws/trading/: live status of the signed-in client's own orders.

The account comes from the session and nothing else. The socket receives the pushes of its
account's orders (``trading.push``), and may ask for one order's status with
``{"type": "order", "id": N}``: every such message is checked against the session's account, and
anyone else's order — another client's, or any order for a staff member, who has no account
here — is answered "not found", exactly as for an id that does not exist.
"""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from margin import selectors as margin
from trading import push
from trading.models import Order

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NO_ACCOUNT = 4404


def _own_order(account_id: int, order_id: Any) -> dict[str, Any] | None:
    # An id is a JSON integer or a string of ASCII digits: not true, not 1e400 or Infinity
    # (Python's JSON reader takes them; int() of an infinite float raises OverflowError).
    if isinstance(order_id, str) and order_id.isascii() and order_id.isdigit():
        order_id = int(order_id)
    if type(order_id) is not int:
        return None
    order = (
        Order.objects.select_related("instrument")
        .filter(pk=order_id, account_id=account_id)
        .first()
    )
    return push.order_payload(order) if order is not None else None


class OrderConsumer(AsyncJsonWebsocketConsumer):
    account_id: int | None = None
    group_name: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        account = await database_sync_to_async(margin.account_for_client)(user)
        if account is None:
            await self.accept()
            await self.close(code=CLOSE_NO_ACCOUNT)
            return
        self.account_id = account.pk
        self.group_name = push.account_group(account.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group_name is not None:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "order":
            await self.send_json({"type": "error", "error": "unknown_message"})
            return
        found = await database_sync_to_async(_own_order)(self.account_id, content.get("id"))
        if found is None:
            await self.send_json({"type": "error", "error": "not_found"})
            return
        await self.send_json(found)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return json.loads(text_data)
        except ValueError:
            return None

    async def order_status(self, event: dict[str, Any]) -> None:
        if event.get("account_id") != self.account_id:  # never another account's order
            return
        await self.send_json(event["order"])
