import json
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from notices.push import user_group

# Tells the browser "sign in first" so it stops reconnecting (4000–4999 are for applications).
CLOSE_UNAUTHENTICATED = 4401


class NoticeConsumer(AsyncJsonWebsocketConsumer):
    """Live in-app notices for the signed-in user, at /ws/notices/.

    The group comes from the session's user and nothing else; the client can only ping.
    """

    group_name: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Accept, then close: a refused handshake reaches the browser as 1006, not our code.
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.group_name = user_group(user.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group_name is not None:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs: Any) -> None:
        if text_data:  # binary frames are ignored rather than an error
            await super().receive(text_data=text_data, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        # Garbage from the client is ignored, not allowed to crash the connection.
        try:
            return json.loads(text_data)
        except ValueError:
            return None

    async def notice_push(self, event: dict[str, Any]) -> None:
        await self.send_json(
            {
                "type": "notice",
                "id": event["id"],
                "title": event["title"],
                "body": event["body"],
                "unread": event["unread"],
            }
        )

    async def notice_unread(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "unread", "unread": event["unread"]})
