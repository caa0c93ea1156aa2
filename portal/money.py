"""Money as the contract counts it: one rounding rule, one daily-interest function.

How the figures read to people is `portal.formatting`.

Every figure a client is quoted and every amount the ledger posts comes through here, so the
calculator, the daily accrual, statements, the risk warning and the contract cannot disagree:

- Amounts are ``Decimal`` yuan with 2 places. The rounding rule is half-up to the fen (the fee
  schedule: "按分四舍五入"), applied once per charge.
- Interest is charged per calendar day: one day's interest on a balance is
  ``round_half_up(balance × annual rate ÷ 360)`` (or ``× daily rate`` for a daily item), and
  interest over several days on an unchanged balance is the sum of those daily charges, which is
  ``days × one day's charge`` — not the rounding of the whole period at once. For ¥100,000 at
  8.35% over 30 days that is 30 × 23.19 = 695.70, where rounding once would say 695.83.
- The effective annual rate of a charge is stated with its method (see ``simple_annual_rate`` and
  ``compounded_annual_rate``), because "effective annual rate" alone names several numbers.

Pure functions: no database, no settings, no floats.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
DAY_COUNT = 360  # the contract's day count: the daily rate is the annual rate ÷ 360
YEAR_DAYS = 365  # the calendar year an effective annual rate is stated over
ANNUAL_360 = "annual_360"  # disclosures.Basis.ANNUAL_360: an annual rate accrued daily ÷ 360
DAILY = "daily"  # disclosures.Basis.DAILY: a rate per day
RATE_PLACES = Decimal("0.000001")  # rates as fractions with 6 places (8.3500% = 0.083500)
_PRECISION = 50


def _decimal(value: object, what: str) -> Decimal:
    if isinstance(value, float):
        raise TypeError(f"{what} must be a Decimal, not a float: floats are not exact")
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"{what} must be a Decimal: {value!r}")
    result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"{what} must be finite: {value!r}")
    return result


def round_fen(value: object) -> Decimal:
    """The one rounding rule: half-up to the fen (0.005 → 0.01)."""
    return _decimal(value, "amount").quantize(FEN, rounding=ROUND_HALF_UP)


def daily_interest(amount: object, rate: object, basis: str = ANNUAL_360) -> Decimal:
    """One day's interest on ``amount``: amount × rate ÷ 360 (annual rate) or × rate (daily rate),
    half-up to the fen. The only function that computes a day's interest."""
    amount, rate = _decimal(amount, "amount"), _decimal(rate, "rate")
    if basis not in (ANNUAL_360, DAILY):
        raise ValueError(f"{basis!r} is not a basis interest can accrue on")
    with localcontext() as context:
        context.prec = _PRECISION
        exact = amount * rate / DAY_COUNT if basis == ANNUAL_360 else amount * rate
        return exact.quantize(FEN, rounding=ROUND_HALF_UP)


def interest_for_days(amount: object, rate: object, days: int, basis: str = ANNUAL_360) -> Decimal:
    """Interest on an unchanged ``amount`` over ``days`` calendar days, exactly as the ledger
    charges it: the sum of ``days`` daily charges."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ValueError(f"days must be a whole number of days, not {days!r}")
    return daily_interest(amount, rate, basis) * days


def simple_annual_rate(*, charge: Decimal, amount: Decimal, days: int) -> Decimal:
    """The charge as a simple rate over a 365-day year: charge ÷ amount × 365 ÷ days (6 places).

    Above the quoted rate for interest alone, because the quoted rate is divided by 360 a day.
    """
    charge, amount = _decimal(charge, "charge"), _decimal(amount, "amount")
    if amount <= 0 or days <= 0:
        raise ValueError("the amount and the number of days must be positive")
    with localcontext() as context:
        context.prec = _PRECISION
        return (charge / amount * YEAR_DAYS / days).quantize(RATE_PLACES, ROUND_HALF_UP)


def compounded_annual_rate(*, charge: Decimal, amount: Decimal, days: int) -> Decimal:
    """The charge compounded over a 365-day year: (1 + charge ÷ amount)^(365 ÷ days) − 1.

    What the cost comes to if the period were repeated all year with the interest borrowed too;
    higher than the simple rate for periods shorter than a year.
    """
    charge, amount = _decimal(charge, "charge"), _decimal(amount, "amount")
    if amount <= 0 or days <= 0:
        raise ValueError("the amount and the number of days must be positive")
    with localcontext() as context:
        context.prec = _PRECISION
        growth = (1 + charge / amount).ln() * YEAR_DAYS / days
        return (growth.exp() - 1).quantize(RATE_PLACES, ROUND_HALF_UP)


def as_decimal(value: object, what: str) -> Decimal:
    """`value` as an exact, finite Decimal; a float or a non-number is refused (TypeError)."""
    return _decimal(value, what)


def __getattr__(name: str) -> Any:
    # The formatters live in portal.formatting (which imports this module, hence the late
    # import); `money.yuan`, `money.percent`, `money.cny`... keep working for older callers.
    if name in ("yuan", "percent", "cny", "signed_cny", "rate_percent"):
        from portal import formatting

        return getattr(formatting, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
