"""Live push of in-app notices to the browser tabs of one user, over the channel layer."""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    """The one group a user's sockets join; derived from the session, never from input."""
    return f"notices.user.{user_id}"


def push_to_user(user_id: int, event: dict[str, Any]) -> bool:
    """Send `event` to every open tab of the user. Best effort: the notice is stored either way."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async_to_sync(layer.group_send)(user_group(user_id), event)
    except Exception:
        logger.warning(
            "Live push to user %s failed; the notice list still has it.", user_id, exc_info=True
        )
        return False
    return True


def push_to_users(events: list[tuple[int, dict[str, Any]]]) -> int:
    """``push_to_user`` for a batch: one trip into the event loop for all of them, not one each
    (async_to_sync cost more than the send). Returns how many went out."""
    layer = get_channel_layer()
    if layer is None or not events:
        return 0

    async def send_all() -> int:
        sent = 0
        for user_id, event in events:
            try:
                await layer.group_send(user_group(user_id), event)
                sent += 1
            except Exception:
                logger.warning(
                    "Live push to user %s failed; the notice list still has it.",
                    user_id,
                    exc_info=True,
                )
        return sent

    return async_to_sync(send_all)()
