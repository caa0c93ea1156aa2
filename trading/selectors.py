"""Reads the trading pages share: a client's orders, their positions with what is sellable today,
and the refusals by reason per day for risk officers."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet, Sum

from margin import holdings as margin_holdings
from trading.models import Fill, Order, RefusalCount


def orders_of(account_id: int, *, limit: int | None = 100) -> QuerySet[Order]:
    return (
        Order.objects.filter(account_id=account_id)
        .select_related("instrument")
        .prefetch_related("fills")
        .order_by("-submitted_at", "-pk")[:limit]
    )


def order_for_account(account_id: int, pk: int) -> Order | None:
    return (
        Order.objects.filter(pk=pk, account_id=account_id)
        .select_related("instrument")
        .prefetch_related("fills__cost_lines")
        .first()
    )


@dataclass(frozen=True)
class PositionRow:
    code: str
    quantity: int
    bought_today: int
    reserved: int
    price: object

    @property
    def sellable(self) -> int:
        return max(self.quantity - min(self.bought_today, self.quantity) - self.reserved, 0)


def positions_with_sellable(account_id: int, *, day: datetime.date) -> list[PositionRow]:
    """Each position with its T+1 sellable quantity (three queries, whatever the count)."""
    bought = dict(
        Fill.objects.filter(order__account_id=account_id, order__side="buy", trading_day=day)
        .values("order__instrument_id")
        .annotate(total=Sum("quantity"))
        .values_list("order__instrument_id", "total")
    )
    reserved = dict(
        Order.objects.filter(account_id=account_id, side="sell", status__in=Order.OPEN)
        .values("instrument_id")
        .annotate(total=Sum("quantity") - Sum("filled_quantity"))
        .values_list("instrument_id", "total")
    )
    return [
        PositionRow(
            code=h.code,
            quantity=h.quantity,
            bought_today=bought.get(h.instrument_id, 0),
            reserved=reserved.get(h.instrument_id, 0),
            price=h.price,
        )
        for h in margin_holdings.holdings_of(account_id)
    ]


def refusals_by_day(*, days: int = 14) -> dict[datetime.date, dict[str, int]]:
    rows = RefusalCount.objects.order_by("-day", "-count")
    found: dict[datetime.date, dict[str, int]] = {}
    for row in rows[: days * 30]:
        found.setdefault(row.day, {})[row.code] = row.count
    return dict(list(found.items())[:days])
