"""What an order costs under the account's own fee schedule, line by line.

The items are read by kind, not by code (``disclosures.ItemKind``): the trade fee on every buy and
sell, at least the schedule's minimum per order (max(rate × value, minimum)); levies collected for
a third party on every buy and sell (the registrar's transfer fee); a fee on buys only; a fee on
sells only (stamp duty). Each is rounded half-up to the fen once (``portal.money.round_fen``) and
names the item and the version that justify it. What the schedule does not list costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.cache import cache

from portal import money

TRADE_FEE = "trade_fee"
TRADE_FEE_MINIMUM = "trade_fee_minimum"
TRADE_LEVY = "trade_levy"
BUY_FEE = "buy_fee"
SELL_FEE = "sell_fee"


@dataclass(frozen=True)
class Item:
    code: str
    kind: str
    value: Decimal
    name_zh: str
    name_en: str
    item_id: int
    version_id: int
    reference: str


@dataclass(frozen=True)
class CostLine:
    code: str
    name_zh: str
    name_en: str
    amount: Decimal
    item_id: int
    version_id: int
    reference: str
    kind: str = TRADE_FEE
    minimum_applied: bool = False

    def name_for(self, language: str) -> str:
        return self.name_zh if (language or "").lower().startswith("zh") else self.name_en


@dataclass(frozen=True)
class Schedule:
    items: tuple[Item, ...] = ()

    def of_kind(self, kind: str) -> list[Item]:
        return [item for item in self.items if item.kind == kind]

    def quote(self, side: str, value: Decimal) -> list[CostLine]:
        """The cost lines of one order of ``value`` yuan on ``side`` ("buy" or "sell")."""
        if value <= 0:
            return []
        lines = []
        minimum = next(iter(self.of_kind(TRADE_FEE_MINIMUM)), None)
        for item in self.of_kind(TRADE_FEE):
            amount = money.round_fen(value * item.value)
            if minimum is not None and amount < money.round_fen(minimum.value):
                lines.append(_line(minimum, money.round_fen(minimum.value), minimum_applied=True))
            else:
                lines.append(_line(item, amount))
        side_kind = BUY_FEE if side == "buy" else SELL_FEE
        for item in (*self.of_kind(side_kind), *self.of_kind(TRADE_LEVY)):
            amount = money.round_fen(value * item.value)
            if amount > 0:
                lines.append(_line(item, amount))
        return [line for line in lines if line.amount > 0]

    def quote_fill(self, side: str, *, filled_before: Decimal, value: Decimal) -> list[CostLine]:
        """The cost lines of one fill of ``value`` yuan of an order that has already filled
        ``filled_before`` yuan: what the whole order costs after the fill, less what it cost
        before, item by item.

        The schedule prices an *order* (commission max(rate × value, minimum)), so partial fills
        charge it once across them, never a minimum per fill: the first fill pays the minimum
        when its rate amount is below it, later fills pay only what the rate on the order's
        value so far adds above what was charged. Every fee is rounded once on the order's
        value so far, so the fills of an order add up to exactly what one fill would cost.
        """
        if filled_before <= 0:
            return self.quote(side, value)
        before = self.quote(side, filled_before)
        lines = []
        for line in self.quote(side, filled_before + value):
            charged = sum((b.amount for b in before if _fee(b) == _fee(line)), money.ZERO)
            if line.amount > charged:
                lines.append(_replace_amount(line, line.amount - charged))
        return lines


def _fee(line: CostLine) -> str:
    # The commission's two items (rate, minimum) are one fee: the increase is charged under the
    # one that sets the order's commission now.
    return "commission" if line.kind in (TRADE_FEE, TRADE_FEE_MINIMUM) else line.code


def _replace_amount(line: CostLine, amount: Decimal) -> CostLine:
    from dataclasses import replace

    return replace(line, amount=amount)


def _line(item: Item, amount: Decimal, *, minimum_applied: bool = False) -> CostLine:
    return CostLine(
        item.code,
        item.name_zh,
        item.name_en,
        amount,
        item.item_id,
        item.version_id,
        item.reference,
        item.kind,
        minimum_applied,
    )


def total(lines: list[CostLine]) -> Decimal:
    return sum((line.amount for line in lines), money.ZERO)


def _key(version_id: int) -> str:
    return f"trading:fee-schedule:{version_id}"


def cached_schedule(version_id: int) -> Schedule | None:
    """A published version never changes, so its cost items are kept in the cache."""
    return cache.get(_key(version_id))


def schedule_of(version: Any) -> Schedule:
    """The cost items of one fee schedule version (``disclosures.selectors.items_of``)."""
    from disclosures import selectors as disclosures

    found = cached_schedule(version.pk)
    if found is not None:
        return found
    kinds = {TRADE_FEE, TRADE_FEE_MINIMUM, TRADE_LEVY, BUY_FEE, SELL_FEE}
    items = sorted(
        (item for item in disclosures.items_of(version) if item.kind in kinds),
        key=lambda item: (item.order, item.pk),
    )
    found = Schedule(
        tuple(
            Item(
                code=item.code,
                kind=item.kind,
                value=item.value,
                name_zh=item.name_zh,
                name_en=item.name_en,
                item_id=item.pk,
                version_id=version.pk,
                reference=f"{version.document.kind} v{version.number} {item.code}",
            )
            for item in items
        )
    )
    cache.set(_key(version.pk), found, 3600)
    return found
