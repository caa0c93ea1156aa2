"""What financing would cost, from the fee schedule in force: pure Decimal arithmetic.

Interest = amount × annual rate × days ÷ 360, rounded half-up to the fen, exactly as daily accrual
charges it. The financed purchase and the closing sale each pay the per-trade service fee. The
effective annual rate spreads the total over a 365-day year, so a client can compare it with a
deposit rate: it is higher than the quoted rate because the quoted rate is divided by 360.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")
DAY_COUNT = Decimal(360)
YEAR_DAYS = Decimal(365)
MAX_AMOUNT = Decimal("100000000.00")
MAX_DAYS = 366


def money(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def interest(*, amount: Decimal, annual_rate: Decimal, days: int) -> Decimal:
    """Interest on `amount` for `days` days at `annual_rate` on the 360-day basis."""
    return money(amount * annual_rate * days / DAY_COUNT)


def daily_interest(*, amount: Decimal, annual_rate: Decimal) -> Decimal:
    """One day's accrual: the figure issue 8's daily accrual posts."""
    return interest(amount=amount, annual_rate=annual_rate, days=1)


def penalty(*, overdue: Decimal, daily_rate: Decimal, days: int) -> Decimal:
    return money(overdue * daily_rate * days)


@dataclass(frozen=True)
class Cost:
    amount: Decimal
    days: int
    annual_rate: Decimal
    trade_fee_rate: Decimal
    interest: Decimal
    trade_fees: Decimal
    total: Decimal
    effective_annual_rate: Decimal  # a fraction, 4 places after the percent (0.084661)

    @property
    def effective_annual_percent(self) -> Decimal:
        return (self.effective_annual_rate * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def financing_cost(
    *, amount: Decimal, days: int, annual_rate: Decimal, trade_fee_rate: Decimal
) -> Cost:
    """Interest and fees for financing `amount` for `days` days, opened and closed by one trade."""
    if amount <= 0 or amount > MAX_AMOUNT:
        raise ValueError("amount out of range")
    if not 1 <= days <= MAX_DAYS:
        raise ValueError("days out of range")
    charged = interest(amount=amount, annual_rate=annual_rate, days=days)
    fees = money(amount * trade_fee_rate) * 2
    total = charged + fees
    effective = (total / amount * YEAR_DAYS / days).quantize(
        Decimal("0.000001"), rounding=ROUND_HALF_UP
    )
    return Cost(amount, days, annual_rate, trade_fee_rate, charged, fees, total, effective)
