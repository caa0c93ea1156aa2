"""Live push of in-app notices to the browser tabs of one user, over the channel layer."""

import asyncio
import logging
import os
import threading
import time
from collections.abc import Coroutine
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
    (async_to_sync cost more than the send), and on Redis one round trip to learn which of the
    users have a tab open at all: most of a burst's recipients have none, and a ``group_send``
    to an empty group still costs two round trips. Returns how many went out."""
    layer = get_channel_layer()
    if layer is None or not events:
        return 0

    async def send_all() -> int:
        listening = await _groups_with_members(layer, {user_group(u) for u, _ in events})
        sent = 0
        for user_id, event in events:
            group = user_group(user_id)
            if listening is not None and group not in listening:
                continue
            try:
                await layer.group_send(group, event)
                sent += 1
            except Exception:
                logger.warning(
                    "Live push to user %s failed; the notice list still has it.",
                    user_id,
                    exc_info=True,
                )
        return sent

    try:
        return _on_push_loop(send_all())
    except Exception:
        logger.warning(
            "Live push of %s notices failed; the lists have them.", len(events), exc_info=True
        )
        return 0


_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_loop_lock = threading.Lock()


def _on_push_loop(coroutine: Coroutine[Any, Any, int]) -> int:
    """Run `coroutine` on this process's push loop, a thread started on first use. async_to_sync
    runs each call on a new event loop, and channels_redis keeps its connections per loop: every
    batch opened fresh Redis connections, which cost more than the pushes themselves."""
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():  # none yet, or inherited through a fork
            _loop, _loop_pid = asyncio.new_event_loop(), os.getpid()
            threading.Thread(target=_loop.run_forever, name="notice-push", daemon=True).start()
        loop = _loop
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=_PUSH_TIMEOUT)


_PUSH_TIMEOUT = 30  # seconds; a push is best effort and must not hold a worker for long


async def _groups_with_members(layer: Any, groups: set[str]) -> set[str] | None:
    """The groups with at least one member, read in one pipeline per Redis shard; None when the
    layer is not channels_redis's (or the read fails): then every group is sent to."""
    needed = ("_group_key", "consistent_hash", "connection")
    if not all(hasattr(layer, name) for name in needed) or not hasattr(layer, "group_expiry"):
        return None
    try:
        by_shard: dict[int, list[str]] = {}
        for group in groups:
            by_shard.setdefault(layer.consistent_hash(group), []).append(group)
        listening: set[str] = set()
        for shard, names in by_shard.items():
            pipe = layer.connection(shard).pipeline(transaction=False)
            for name in names:
                # Members whose join is older than group_expiry are gone, as group_send sees it.
                pipe.zcount(
                    layer._group_key(name), f"({int(time.time()) - layer.group_expiry}", "+inf"
                )
            counts = await pipe.execute()
            listening.update(name for name, count in zip(names, counts, strict=True) if count)
        return listening
    except Exception:
        logger.warning("Reading who listens failed; pushing to every group", exc_info=True)
        return None
