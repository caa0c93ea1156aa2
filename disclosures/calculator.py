"""What financing would cost, from the fee schedule in force: exactly what the ledger would charge.

All arithmetic is ``portal.money``'s, the module the daily accrual posts with: interest is charged
per calendar day at annual rate ÷ 360, each day rounded half-up to the fen, so ``days`` days cost
``days × one day's interest`` (¥100,000 at 8.35% for 30 days: 30 × 23.19 = 695.70).

Only interest is added up. The trade service fee is charged on each trade's value when a trade
is made, not by financing itself, so the calculator shows its rate "per trade" and never adds it
to the cost of borrowing. The effective annual rate is stated two ways, each with its method:
simple (interest ÷ amount × 365 ÷ days) and compounded ((1 + interest ÷ amount)^(365 ÷ days) − 1).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from portal import formatting, money

FEN = money.FEN
MAX_AMOUNT = Decimal("100000000.00")
MAX_DAYS = 366


def interest(*, amount: Decimal, annual_rate: Decimal, days: int) -> Decimal:
    """Interest on `amount` for `days` days at `annual_rate`, as the daily accrual charges it."""
    return money.interest_for_days(amount, annual_rate, days)


def daily_interest(*, amount: Decimal, annual_rate: Decimal) -> Decimal:
    """One day's accrual on `amount`."""
    return money.daily_interest(amount, annual_rate)


def penalty(*, overdue: Decimal, daily_rate: Decimal, days: int) -> Decimal:
    """Penalty interest on `overdue` for `days` days: charged daily, each day rounded."""
    return money.interest_for_days(overdue, daily_rate, days, money.DAILY)


def per_trade_fee(*, value: Decimal, rate: Decimal) -> Decimal:
    """The trade service fee on one trade of `value`, rounded half-up to the fen."""
    return money.round_fen(value * rate)


@dataclass(frozen=True)
class Cost:
    amount: Decimal
    days: int
    annual_rate: Decimal
    daily_interest: Decimal
    interest: Decimal
    trade_fee_rate: Decimal  # charged on each trade's value when a trade is made; not in total
    simple_annual_rate: Decimal  # interest ÷ amount × 365 ÷ days, a fraction with 6 places
    compounded_annual_rate: Decimal  # (1 + interest ÷ amount)^(365 ÷ days) − 1

    @property
    def total(self) -> Decimal:
        """What financing `amount` for `days` days charges: the interest, nothing else."""
        return self.interest

    @property
    def trade_fee_per_trade(self) -> Decimal:
        """The fee one trade worth `amount` would pay, shown for information."""
        return per_trade_fee(value=self.amount, rate=self.trade_fee_rate)

    @property
    def simple_annual_percent(self) -> str:
        return formatting.percent(self.simple_annual_rate)

    @property
    def compounded_annual_percent(self) -> str:
        return formatting.percent(self.compounded_annual_rate)


def financing_cost(
    *, amount: Decimal, days: int, annual_rate: Decimal, trade_fee_rate: Decimal = Decimal(0)
) -> Cost:
    """The interest on financing `amount` for `days` days, and its effective annual rates."""
    if amount <= 0 or amount > MAX_AMOUNT or amount != amount.quantize(FEN):
        raise ValueError("amount out of range")
    if not 1 <= days <= MAX_DAYS:
        raise ValueError("days out of range")
    charged = interest(amount=amount, annual_rate=annual_rate, days=days)
    return Cost(
        amount=amount,
        days=days,
        annual_rate=annual_rate,
        daily_interest=daily_interest(amount=amount, annual_rate=annual_rate),
        interest=charged,
        trade_fee_rate=trade_fee_rate,
        simple_annual_rate=money.simple_annual_rate(charge=charged, amount=amount, days=days),
        compounded_annual_rate=money.compounded_annual_rate(
            charge=charged, amount=amount, days=days
        ),
    )


@dataclass(frozen=True)
class ScheduledChange:
    """A rate change that falls inside the period the client asked about, and what it does."""

    effective_on: datetime.date
    old_rate: Decimal
    new_rate: Decimal
    days_before: int  # days of the period still charged at the old rate
    days_after: int  # days charged at the new rate, from effective_on
    total_without: Decimal  # the period at the old rate throughout
    total_with: Decimal  # what it costs with the change

    @property
    def difference(self) -> Decimal:
        return self.total_with - self.total_without


def scheduled_change(
    *,
    amount: Decimal,
    days: int,
    start: datetime.date,
    old_rate: Decimal,
    new_rate: Decimal,
    effective_on: datetime.date,
) -> ScheduledChange | None:
    """The cost of `days` days from `start` when the rate changes on `effective_on`: each day is
    charged at the rate in force that day, as the daily accrual does. None when the change falls
    outside the period or does not change the rate."""
    days_before = (effective_on - start).days
    if old_rate == new_rate or not 0 <= days_before < days:
        return None
    without = interest(amount=amount, annual_rate=old_rate, days=days)
    with_change = interest(amount=amount, annual_rate=old_rate, days=days_before) + interest(
        amount=amount, annual_rate=new_rate, days=days - days_before
    )
    return ScheduledChange(
        effective_on, old_rate, new_rate, days_before, days - days_before, without, with_change
    )


# The calculator starts a signed-in client at their own leverage tier. Margin holds contracts and
# sits above disclosures, so it registers how to find the tier when the app registry is ready.
_tier_lookup: list[Callable[[Any], int | None]] = []


def client_tier_lookup_register(lookup: Callable[[Any], int | None]) -> None:
    """Called once by margin's AppConfig.ready."""
    _tier_lookup[:] = [lookup]


def client_tier(user: Any) -> int | None:
    """A signed-in client's leverage tier (None for anyone without a contract)."""
    if not getattr(user, "is_authenticated", False) or not _tier_lookup:
        return None
    return _tier_lookup[0](user)
