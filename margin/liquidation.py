"""Which shares to sell, and how many, to bring an account back to its warning line.

Pure functions on Decimal, so the plan a risk officer reviews can be tested to the share.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from margin import rules
from margin.rules import DEFAULT_LINES, Lines

BOARD_LOT = 100  # A shares trade in lots of 100; an odd remainder may only be sold whole.


@dataclass(frozen=True)
class Sellable:
    code: str
    quantity: int
    price: Decimal
    limit_down: Decimal

    @property
    def locked(self) -> bool:
        """At limit-down there are no buyers: a sell order would not fill, so the plan skips it."""
        return self.price <= self.limit_down


@dataclass(frozen=True)
class PlannedSale:
    code: str
    quantity: int
    price: Decimal
    proceeds: Decimal


@dataclass(frozen=True)
class Plan:
    sales: list[PlannedSale]
    skipped: list[str]  # codes locked at limit-down
    needed: Decimal | None  # sales the cure asks for; None when selling everything cannot cure
    proceeds: Decimal

    @property
    def sufficient(self) -> bool:
        return self.needed is not None and self.proceeds >= self.needed


def plan_sales(
    *, cash: Decimal, liabilities: Decimal, holdings: list[Sellable], lines: Lines = DEFAULT_LINES
) -> Plan:
    """Sell the largest positions first, in board lots, until the sales reach the cure amount.

    The cure amount is ``rules.cure``'s: proceeds repay debt, so selling S lifts the ratio to the
    warning line. Positions at limit-down are left out. When even every sellable share falls
    short, the plan sells them all and ``needed`` tells the officer by how much it falls short.
    """
    tradable = [h for h in holdings if not h.locked]
    skipped = sorted(h.code for h in holdings if h.locked)
    market_value = rules.market_value((h.quantity, h.price) for h in holdings)
    needed = rules.cure(
        assets=cash + market_value,
        liabilities=liabilities,
        market_value=market_value,
        lines=lines,
    ).sell
    remaining = (
        needed if needed is not None else sum((h.quantity * h.price for h in tradable), Decimal(0))
    )
    sales, total = [], Decimal("0.00")
    for h in sorted(tradable, key=lambda h: (-(h.quantity * h.price), h.code)):
        if remaining <= 0:
            break
        lots = (remaining / (h.price * BOARD_LOT)).to_integral_value(rounding=ROUND_CEILING)
        quantity = min(h.quantity, int(lots) * BOARD_LOT)
        proceeds = rules.market_value([(quantity, h.price)])
        sales.append(PlannedSale(code=h.code, quantity=quantity, price=h.price, proceeds=proceeds))
        total += proceeds
        remaining -= proceeds
    return Plan(sales=sales, skipped=skipped, needed=needed, proceeds=total)
