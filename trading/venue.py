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
  crosses — always at the feed's price, for the whole remaining quantity;
- nobody sells to a buyer at limit-up and nobody buys from a seller at limit-down, so neither
  fills there; a suspended instrument fills nothing;
- unfilled day orders expire at the close (``services.orders_expire``).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from portal import calendars
from trading.models import Order


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
        orders = Order.objects.filter(status__in=Order.OPEN).select_related("instrument")
        for order in orders.order_by("submitted_at", "pk"):
            fill = self.match(order)
            if fill is not None:
                found.append(fill)
        return found

    @staticmethod
    def match(order: Order) -> VenueFill | None:
        instrument = order.instrument
        price, at = instrument.last_price, instrument.last_price_at
        if price is None or at is None or at <= order.submitted_at or instrument.suspended:
            return None
        if at.astimezone(calendars.SHANGHAI).date() != order.trading_day:
            return None  # a day order trades on its own day only
        low, high = instrument.price_limits()
        if order.side == Order.Side.BUY:
            crosses = price <= order.limit_price and price < high
        else:
            crosses = price >= order.limit_price and price > low
        if not crosses:
            return None
        return VenueFill(
            order_id=order.pk,
            quantity=order.remaining,
            price=price,
            at=at,
            ref=f"sim-{order.pk}-{order.filled_quantity}",
        )


def get_venue() -> Venue:
    """The venue named by ``settings.TRADING_VENUE`` (the simulated one by default)."""
    path = getattr(settings, "TRADING_VENUE", "trading.venue.SimulatedVenue")
    return import_string(path)()
