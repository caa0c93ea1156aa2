"""The risk board live: /ws/monitoring/board/ tells open boards that alerts changed, and the
page reloads its data. Only staff who may read alerts join; the client can only ping."""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

BOARD_GROUP = "monitoring.board"
CLOSE_FORBIDDEN = 4403


class BoardConsumer(AsyncJsonWebsocketConsumer):
    joined = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        allowed = user is not None and user.is_authenticated
        if allowed:
            allowed = await database_sync_to_async(user.has_perm)("monitoring.view_alert")
        await self.accept()
        if not allowed:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(BOARD_GROUP, self.channel_name)
        self.joined = True

    async def disconnect(self, code: int) -> None:
        if self.joined:
            await self.channel_layer.group_discard(BOARD_GROUP, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs: Any) -> None:
        if text_data:
            await super().receive(text_data=text_data, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return json.loads(text_data)
        except ValueError:
            return None

    async def board_changed(self, event: dict[str, Any]) -> None:
        await self.send_json(
            {"type": "changed", "raised": event["raised"], "ended": event["ended"]}
        )
