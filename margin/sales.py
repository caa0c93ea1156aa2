"""Who sells an approved liquidation plan's shares.

The trading channel registers its route here at start-up; ``liquidation_plan_execute`` then
hands it the plan, and the sales go through the venue as a client's sales do (fills, fees and
proceeds on the same path); the channel records the plan executed when its last sale closes
(``margin.holdings.liquidation_plan_executed``). A route answers False when it does not take the
plan (the channel is switched off), and margin fills the plan at the feed's prices itself, as it
does when no channel is registered. Margin imports no channel; the channel imports margin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_route: list[Callable[[Any], bool]] = []


def liquidation_route_register(route: Callable[[Any], bool]) -> None:
    """Called once by the trading channel's AppConfig.ready."""
    _route[:] = [route]


def liquidation_route() -> Callable[[Any], bool] | None:
    return _route[0] if _route else None
