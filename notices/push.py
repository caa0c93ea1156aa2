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
