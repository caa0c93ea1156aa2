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

from dataclasses import dataclass
from decimal import Decimal

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
