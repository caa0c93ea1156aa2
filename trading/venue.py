"""Where orders execute: the ``Venue`` protocol, and the simulated venue this deployment uses.

A venue is what a broker gateway implements. The channel (``trading.services``) calls
``submit`` after an order passed the pre-trade check and was stored, ``cancel`` when the client
cancels, and ``fills`` on every step to collect executions; each reported fill goes through
``services.fill_record``, which re-runs the check, posts the ledger entry and moves the position
in one transaction. A fill's ``ref`` is the venue's own execution id: reporting it twice records
it once.

The simulated venue matches open orders against the market feed's prices, as the risk runner
writes them on the instruments (``last_price``, ``last_price_at``):

- only a price that arrived *after* the order was submitted can fill it (the next tick);
- a buy fills when the price is at or below its limit, a sale at or above — a marketable order
  (market orders are limits at the band's edge) at the next tick, a resting limit when the price
  crosses — always at the feed's price;
- partial fills: an order takes at most ``TRADING_SIM_PARTICIPATION`` (25%) of the volume the
  feed reported for the tick, shared by the portal's orders in time priority, in whole lots of
  100 shares; the rest stays open ("partly filled") for later ticks — at most one fill per order
  per tick — until it fills, is cancelled or expires at the close. A remainder the allowance
  covers fills whole (an odd lot of a sale too). A tick with no reported volume (feeds without
  volumes, volume 0) fills the whole remaining quantity, as before volumes were fed;
- nobody sells to a buyer at limit-up and nobody buys from a seller at limit-down, so neither
  fills there; a suspended instrument fills nothing;
- unfilled day orders expire at the close (``services.orders_expire``).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max, Sum
from django.utils.module_loading import import_string

from portal import calendars
from trading import rules as order_rules
from trading.models import Fill, Order

logger = logging.getLogger(__name__)
VOLUME_SECONDS = 3600  # a tick's volume matters until the next tick of the code


@dataclass(frozen=True)
class VenueFill:
    order_id: int
    quantity: int
    price: Decimal
    at: datetime.datetime
    ref: str  # the venue's execution id, unique


class Venue(Protocol):
    name: str

    def submit(self, order: Order) -> None:
        """Send an accepted order to the market (it is open from now on)."""

    def cancel(self, order: Order) -> bool:
        """Withdraw an open order; False when the market already filled it."""

    def fills(self) -> Iterable[VenueFill]:
        """Executions since the last call, each reported once (or again: ``ref`` dedupes)."""


class SimulatedVenue:
    """Executions simulated against the feed; nothing leaves this deployment."""

    name = "simulated"

    def submit(self, order: Order) -> None:
        # The book is the table of open orders; matching reads it on the next step.
        return None

    def cancel(self, order: Order) -> bool:
        return True

    def fills(self) -> list[VenueFill]:
        found = []
        orders = list(
            Order.objects.filter(status__in=Order.OPEN)
            .select_related("instrument")
            .annotate(last_fill_at=Max("fills__filled_at"))
            .order_by("submitted_at", "pk")
        )
        allowance = _Allowance(orders)
        for order in orders:
            fill = self.match(order, allowance)
            if fill is not None:
                found.append(fill)
        return found

    @staticmethod
    def match(order: Order, allowance: _Allowance | None = None) -> VenueFill | None:
        instrument = order.instrument
        price, at = instrument.last_price, instrument.last_price_at
        if price is None or at is None or at <= order.submitted_at or instrument.suspended:
            return None
        last_fill_at = getattr(order, "last_fill_at", None)
        if last_fill_at is not None and last_fill_at >= at:
            return None  # one fill per order per tick
        if at.astimezone(calendars.SHANGHAI).date() != order.trading_day:
            return None  # a day order trades on its own day only
        low, high = instrument.price_limits()
        if order.side == Order.Side.BUY:
            crosses = price <= order.limit_price and price < high
        else:
            crosses = price >= order.limit_price and price > low
        if not crosses:
            return None
        quantity = order.remaining
        if allowance is not None:
            quantity = allowance.take(instrument.code, at, order.remaining)
            if quantity <= 0:
                return None
        return VenueFill(
            order_id=order.pk,
            quantity=quantity,
            price=price,
            at=at,
            ref=f"sim-{order.pk}-{order.filled_quantity}",
        )


def participation() -> Decimal:
    return Decimal(str(getattr(settings, "TRADING_SIM_PARTICIPATION", "0.25")))


def fill_quantity(remaining: int, allowed: int) -> int:
    """What an order with ``remaining`` shares fills when ``allowed`` shares are left of the
    tick's share: all of it if that covers it, else whole lots of 100 (0: nothing this tick)."""
    if remaining <= allowed:
        return remaining
    return (allowed // order_rules.BOARD_LOT) * order_rules.BOARD_LOT


def _volume_key(code: str) -> str:
    return f"trading:tick-volume:{code}"


class _Allowance:
    """What is left this step of each instrument's share of its latest tick's volume; ``None``
    per code when the feed reported no volume for the tick (the whole order may fill)."""

    def __init__(self, orders: Sequence[Order]) -> None:
        codes = {order.instrument.code for order in orders}
        reported = cache.get_many([_volume_key(code) for code in codes]) if codes else {}
        self._left: dict[tuple[str, datetime.datetime], int | None] = {}
        self._volumes: dict[str, tuple[datetime.datetime, int]] = {
            key.removeprefix("trading:tick-volume:"): tuple(value)
            for key, value in reported.items()
        }
        self._orders = orders

    def take(self, code: str, at: datetime.datetime, remaining: int) -> int:
        key = (code, at)
        if key not in self._left:
            self._left[key] = self._share(code, at)
        left = self._left[key]
        if left is None:
            return remaining
        quantity = fill_quantity(remaining, left)
        self._left[key] = left - quantity
        return quantity

    def _share(self, code: str, at: datetime.datetime) -> int | None:
        reported = self._volumes.get(code)
        if reported is None or reported[0] != at or reported[1] <= 0:
            return None
        share = int(reported[1] * participation())
        # What earlier steps already filled on this tick counts against its share.
        taken = (
            Fill.objects.filter(order__instrument__code=code, filled_at=at).aggregate(
                total=Sum("quantity")
            )["total"]
            or 0
        )
        return max(share - taken, 0)


def record_tick_volumes(*, runner: Any, tick: Any, accepted: dict[str, Decimal]) -> None:
    """A risk-runner tick observer (``MARGIN_TICK_OBSERVERS``): keep each tick's volume of the
    instruments with open orders, for the venue's next step (the cache is shared by processes),
    then tell the venue's loop that a tick landed (``tick_mark``): it matches at once instead of
    at its next look."""
    volumes = {row.code: row.volume for row in tick.rows if row.code in accepted and row.volume > 0}
    if volumes:
        wanted = set(
            Order.objects.filter(status__in=Order.OPEN, instrument__code__in=list(volumes))
            .values_list("instrument__code", flat=True)
            .distinct()
        )
        cache.set_many(
            {_volume_key(code): (tick.at, volumes[code]) for code in wanted}, VOLUME_SECONDS
        )
    transaction.on_commit(_tick_landed)


TICK_KEY = "trading:tick-landed"


def _tick_landed() -> None:
    try:
        try:
            cache.incr(TICK_KEY)
        except ValueError:  # not set yet (or evicted)
            if not cache.add(TICK_KEY, 1, None):
                cache.incr(TICK_KEY)
    except Exception:
        # Redis restarting: the venue's periodic step still matches the order.
        logger.warning("Could not tell the venue a tick landed", exc_info=True)


def tick_mark() -> int | None:
    """The count of ticks landed (compare two marks: a difference means a new price)."""
    try:
        return cache.get(TICK_KEY)
    except Exception:
        return None


def get_venue() -> Venue:
    """The venue named by ``settings.TRADING_VENUE`` (the simulated one by default)."""
    path = getattr(settings, "TRADING_VENUE", "trading.venue.SimulatedVenue")
    return import_string(path)()
