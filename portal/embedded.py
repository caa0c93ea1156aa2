"""Embedded mode (``make run``) has no beat process: run its schedule inside the ASGI process.

``EmbeddedBeat`` wraps the ASGI application. With ``settings.EMBEDDED_BEAT`` on, the first scope
the server hands it starts Celery's own scheduler on the server's loop, ticking in a thread; the
tasks it sends run inline (eager), as every task does in embedded mode. So the sweeps production
runs from ``celery beat`` (stuck notices and stuck work, SLA clocks, margin-call deadlines,
disclosure dates, the daily close) run here too, from the same ``CELERY_BEAT_SCHEDULE``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)
_state: dict = {}


def _tick(scheduler) -> float:
    close_old_connections()
    try:
        return scheduler.tick()
    finally:
        close_old_connections()


async def _run(stop: asyncio.Event) -> None:
    from celery.beat import Scheduler

    from portal.celery import app

    scheduler = Scheduler(app, lazy=False)  # the schedule kept in memory: no file to manage
    logger.info("Embedded beat started: %s", ", ".join(sorted(scheduler.schedule)))
    while not stop.is_set():
        try:
            wait = await asyncio.to_thread(_tick, scheduler)
        except Exception:
            logger.exception("Embedded beat tick failed; trying again in a minute")
            wait = 60.0
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(0.5, min(wait, 60.0)))


def ensure_started() -> None:
    task = _state.get("task")
    if task is not None and not task.done():
        return
    loop = asyncio.get_running_loop()
    stop_event = asyncio.Event()
    _state.update(loop=loop, stop=stop_event, task=loop.create_task(_run(stop_event)))


def stop(timeout: float = 10) -> None:
    """Stop the embedded beat from any thread (tests)."""
    loop, event, task = _state.get("loop"), _state.get("stop"), _state.get("task")
    if loop is None or task is None:
        return
    if not loop.is_closed():
        loop.call_soon_threadsafe(event.set)
        end = time.monotonic() + timeout
        while not task.done() and time.monotonic() < end:
            time.sleep(0.05)
    _state.clear()


class EmbeddedBeat:
    """ASGI middleware that starts the embedded beat on the server's loop when enabled."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if getattr(settings, "EMBEDDED_BEAT", False):
            ensure_started()
        return await self.app(scope, receive, send)
