"""Embedded mode (``make run``): the feed and the risk engine run inside the ASGI process.

``EmbeddedRiskEngine`` wraps the ASGI application. With ``settings.MARGIN_ENGINE_EMBEDDED`` on,
the first scope the server hands it (the lifespan start-up, or else the first request) starts the
runner as a task on the server's own event loop, so the in-memory channel layer delivers its
pushes. In production the setting is off and ``manage.py run_risk_engine`` runs it instead.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time

from django.conf import settings
from django.utils import timezone

from margin.feed import ManualFeed, SimInstrument, SimulatedFeed
from margin.runner import RiskRunner

logger = logging.getLogger(__name__)

# The feed ``MARGIN_FEED = "manual"`` uses: tests and operators put prices into it.
manual_feed = ManualFeed()
_state: dict = {}


def build_feed(kind: str):
    """The feed named by ``MARGIN_FEED``: "simulated" (default), "manual", or a CSV path."""
    from margin.feed import ReplayFeed
    from margin.models import Instrument

    if kind == "manual":
        return manual_feed
    if kind.endswith(".csv"):
        return ReplayFeed(kind)
    instruments = [
        SimInstrument(
            code=i.code,
            previous_close=i.previous_close,
            board=i.board,
            is_st=i.is_st,
            last=i.last_price,
            float_shares=i.float_shares,
            sector=i.sector,
        )
        for i in Instrument.objects.order_by("code")
    ]
    return SimulatedFeed(
        instruments,
        seed=settings.MARGIN_FEED_SEED,
        start=timezone.now(),
        step=datetime.timedelta(seconds=settings.MARGIN_FEED_STEP_SECONDS),
    )


async def _run(stop: asyncio.Event) -> None:
    try:
        feed = await asyncio.to_thread(build_feed, settings.MARGIN_FEED)
        runner = RiskRunner(
            feed=feed, push_interval=settings.MARGIN_PUSH_INTERVAL, push_to_watched_only=True
        )
        _state["runner"] = runner
        # Margin-call deadlines are swept by beat (portal.embedded runs it in embedded mode).
        await runner.run(stop, tick_interval=settings.MARGIN_TICK_SECONDS)
    except Exception:
        logger.exception("The embedded risk engine stopped")


def ensure_started() -> None:
    task = _state.get("task")
    if task is not None and not task.done():
        return
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    _state.update(loop=loop, stop=stop, task=loop.create_task(_run(stop)), runner=None)
    logger.info("Embedded risk engine started (feed: %s)", settings.MARGIN_FEED)


def stop(timeout: float = 10) -> None:
    """Stop the embedded engine from any thread (tests)."""
    loop, event, task = _state.get("loop"), _state.get("stop"), _state.get("task")
    if loop is None or task is None:
        return
    if not loop.is_closed():
        loop.call_soon_threadsafe(event.set)
        end = time.monotonic() + timeout
        while not task.done() and time.monotonic() < end:
            time.sleep(0.05)
    _state.clear()


def runner() -> RiskRunner | None:
    return _state.get("runner")


class EmbeddedRiskEngine:
    """ASGI middleware that starts the embedded engine on the server's loop when enabled."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if getattr(settings, "MARGIN_ENGINE_EMBEDDED", False):
            ensure_started()
        if scope["type"] == "lifespan":
            # Channels' router has no lifespan support; answer it here so servers stay quiet.
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if "stop" in _state:
                        _state["stop"].set()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        return await self.app(scope, receive, send)
