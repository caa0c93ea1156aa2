"""The venue's loop: collect fills and expire day orders as soon as a tick lands or an order is
accepted, and at least every ``TRADING_VENUE_INTERVAL`` seconds.

Embedded mode runs it as a task on the ASGI server's loop (``EmbeddedVenue``, next to the
embedded risk engine); production runs ``manage.py run_venue`` as its own process. The step is
idempotent (fills dedupe by the venue's reference), so two loops at once record nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from django.conf import settings

logger = logging.getLogger(__name__)
_state: dict = {}


def step() -> int:
    from django.db import close_old_connections

    from trading import services

    close_old_connections()
    try:
        return services.venue_step()
    finally:
        close_old_connections()


# How often the loop looks whether it was woken (one cache read): an order arriving in continuous
# trading may fill at once, another at the next tick, so the step runs as soon as the order or
# the tick is committed, not up to ``interval`` later.
TICK_POLL_SECONDS = 0.02


async def run(stop: asyncio.Event, *, interval: float) -> None:
    """Step now, then again whenever a tick lands (``venue.work_mark``) and at least every
    ``interval`` seconds (expiry at the close, ticks missed while Redis was away)."""
    from trading import venue

    mark = await asyncio.to_thread(venue.work_mark)
    while not stop.is_set():
        try:
            await asyncio.to_thread(step)
        except Exception:
            logger.exception("The venue step failed; retrying")
        until = time.monotonic() + interval
        while not stop.is_set():
            left = until - time.monotonic()
            if left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(left, TICK_POLL_SECONDS))
            now_mark = await asyncio.to_thread(venue.work_mark)
            if now_mark != mark:
                mark = now_mark
                break


def ensure_started() -> None:
    task = _state.get("task")
    if task is not None and not task.done():
        return
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    task = loop.create_task(run(stop, interval=settings.TRADING_VENUE_INTERVAL))
    _state.update(loop=loop, stop=stop, task=task)
    logger.info("Embedded venue started (%s)", settings.TRADING_VENUE)


class EmbeddedVenue:
    """ASGI middleware that starts the venue loop on the server's loop when enabled."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if getattr(settings, "TRADING_VENUE_EMBEDDED", False):
            ensure_started()
        return await self.app(scope, receive, send)
