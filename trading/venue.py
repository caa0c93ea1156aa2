"""Where orders execute: the ``Venue`` protocol, and the simulated venue this deployment uses.

A venue is what a broker gateway implements. The channel (``trading.services``) calls
``submit`` after an order passed the pre-trade check and was stored, ``cancel`` when the client
cancels, and ``fills`` on every step to collect executions; each reported fill goes through
``services.fill_record``, which re-runs the check, posts the ledger entry and moves the position
in one transaction. A fill's ``ref`` is the venue's own execution id: reporting it twice records
it once.

The simulated venue matches open orders against the market feed's prices, as the risk runner
writes them on the instruments (``last_price``, ``last_price_at``):

- an order that can trade when it arrives in continuous trading fills at once at the price in
  force, at the moment it arrived, as an exchange executes a marketable order against its book
  (``TRADING_SIM_FILL_ON_ARRIVAL``) — if the feed priced the instrument at most
  ``TRADING_SIM_PRICE_FRESH_SECONDS`` (3 s) before it; otherwise (an older price, a call auction,
  the setting off) only a price that arrived *after* the order can fill it (the next tick);
- a buy fills when the price is at or below its limit, a sale at or above — a marketable order
  (market orders are limits at the band's edge) at once or at the next tick, a resting limit
  when a later price crosses — always at the feed's price;
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
from collections.abc import Iterable
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
from trading.pretrade import phase_at

logger = logging.getLogger(__name__)


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
        # The book is the table of open orders; the venue's loop matches it at its next step,
        # which this brings forward (an order arriving in continuous trading may fill at once).
        wake()

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
        allowance = _Allowance()
        for order in orders:
            fill = self.match(order, allowance)
            if fill is not None:
                found.append(fill)
        return found

    @staticmethod
    def match(order: Order, allowance: _Allowance | None = None) -> VenueFill | None:
        instrument = order.instrument
        price, at = instrument.last_price, instrument.last_price_at
        if price is None or at is None or instrument.suspended:
            return None
        filled_at = at
        if at <= order.submitted_at:  # the price in force when the order arrived
            if not fills_on_arrival(order, at):
                return None
            filled_at = order.submitted_at
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
            quantity = allowance.take(instrument, at, order.remaining)
            if quantity <= 0:
                return None
        return VenueFill(
            order_id=order.pk,
            quantity=quantity,
            price=price,
            at=filled_at,
            ref=f"sim-{order.pk}-{order.filled_quantity}",
        )


def fills_on_arrival(order: Order, price_at: datetime.datetime) -> bool:
    """Whether ``order`` may fill at once at the price the feed stamped ``price_at`` (before the
    order arrived): the setting is on, the order arrived in continuous trading and has not filled
    yet, and that price was at most ``TRADING_SIM_PRICE_FRESH_SECONDS`` old when it arrived."""
    if not getattr(settings, "TRADING_SIM_FILL_ON_ARRIVAL", True) or order.filled_quantity:
        return False
    fresh = datetime.timedelta(seconds=getattr(settings, "TRADING_SIM_PRICE_FRESH_SECONDS", 3.0))
    if order.submitted_at - price_at > fresh:
        return False
    return phase_at(order.submitted_at)[0] is order_rules.Phase.CONTINUOUS


def participation() -> Decimal:
    return Decimal(str(getattr(settings, "TRADING_SIM_PARTICIPATION", "0.25")))


def fill_quantity(remaining: int, allowed: int) -> int:
    """What an order with ``remaining`` shares fills when ``allowed`` shares are left of the
    tick's share: all of it if that covers it, else whole lots of 100 (0: nothing this tick)."""
    if remaining <= allowed:
        return remaining
    return (allowed // order_rules.BOARD_LOT) * order_rules.BOARD_LOT


class _Allowance:
    """What is left this step of each instrument's share of its latest tick's volume
    (``Instrument.last_volume``, written with the price); ``None`` when the feed reported no
    volume for the tick (the whole order may fill)."""

    def __init__(self) -> None:
        self._left: dict[tuple[str, datetime.datetime], int | None] = {}

    def take(self, instrument: Any, at: datetime.datetime, remaining: int) -> int:
        key = (instrument.code, at)
        if key not in self._left:
            self._left[key] = self._share(instrument, at)
        left = self._left[key]
        if left is None:
            return remaining
        quantity = fill_quantity(remaining, left)
        self._left[key] = left - quantity
        return quantity

    @staticmethod
    def _share(instrument: Any, at: datetime.datetime) -> int | None:
        if instrument.last_price_at != at or instrument.last_volume <= 0:
            return None
        share = int(instrument.last_volume * participation())
        # What earlier steps already filled on this tick counts against its share: at the tick,
        # or after it on arrival (before the next tick, which has a later ``at``).
        taken = (
            Fill.objects.filter(order__instrument_id=instrument.pk, filled_at__gte=at).aggregate(
                total=Sum("quantity")
            )["total"]
            or 0
        )
        return max(share - taken, 0)


def tick_landed(*, runner: Any, tick: Any, accepted: dict[str, Decimal]) -> None:
    """A risk-runner tick observer (``MARGIN_TICK_OBSERVERS``): once the tick's prices (and
    volumes) are committed, wake the venue's loop (``wake``): it matches at once instead of at
    its next look."""
    transaction.on_commit(wake)


# Moved whenever the venue has something to match: a tick's prices committed, an order accepted.
MARK_KEY = "trading:venue-work"


def wake() -> None:
    """Tell the venue's loop to step now (``work_mark`` moves), not at its next look."""
    try:
        try:
            cache.incr(MARK_KEY)
        except ValueError:  # not set yet (or evicted)
            if not cache.add(MARK_KEY, 1, None):
                cache.incr(MARK_KEY)
    except Exception:
        # Redis restarting: the venue's periodic step still matches the order.
        logger.warning("Could not wake the venue", exc_info=True)


def work_mark() -> int | None:
    """How often the venue was woken (compare two marks: a difference means work to match)."""
    try:
        return cache.get(MARK_KEY)
    except Exception:
        return None


def get_venue() -> Venue:
    """The venue named by ``settings.TRADING_VENUE`` (the simulated one by default)."""
    path = getattr(settings, "TRADING_VENUE", "trading.venue.SimulatedVenue")
    return import_string(path)()
