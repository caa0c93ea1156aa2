"""How figures read to people: yuan, percent, a ratio as a percentage, a moment in Beijing time.

Pages (through the `formatting` template filters), emails, PDFs and the JSON the live page renders
show figures through these, so a figure reads the same everywhere. The arithmetic (the yuan
quantum, rounding, daily interest) is `portal.money`; this module only shows what it computed,
rounding half-up like the money it shows.

The styles differ on purpose, by where a figure is read:

- `yuan` "1,234.50" (the sign is the page's), `yuan_sign` "¥1,234.50", `yuan_cny`
  "CNY 1,234.50" (the fee schedule and its calculator).
- `percent` "8.35%" at fixed places (lines, rates, ratios in notices and pages); `percent_trim`
  "130%" / "8.35%" without trailing zeros (the risk warning's figures); `rate_figure` "8.35" /
  "0.0125" with no sign, 2 to 4 places (the fee schedule writes the sign in its own sentence).
- `ratio_percent` "∞" when there is no debt, else `percent`.
- `beijing_minute` "2026-12-07 09:30" in the portal's time zone (Beijing).
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from portal.money import FEN, as_decimal, round_fen

MINUTE = "%Y-%m-%d %H:%M"
INFINITE_RATIO = "∞"


def yuan(amount: object) -> str:
    """An amount for people: 1234.5 → "1,234.50" (no currency sign; templates add ¥ or 元)."""
    return f"{round_fen(amount):,.2f}"


def yuan_sign(amount: object) -> str:
    """An amount with the yuan sign: 1234.5 → "¥1,234.50"."""
    return f"¥{yuan(amount)}"


def yuan_cny(amount: object) -> str:
    """An amount as the fee schedule writes it: "CNY 1,234.50" (translated)."""
    return _("CNY %(amount)s") % {"amount": yuan(amount)}


def _hundredths(ratio: object, places: int) -> Decimal:
    quantum = Decimal(1).scaleb(-places)
    return (as_decimal(ratio, "ratio") * 100).quantize(quantum, ROUND_HALF_UP)


def percent(ratio: object, places: int = 2) -> str:
    """A fraction as a percentage with `places` decimals, half-up: 0.0835 → "8.35%"."""
    return f"{_hundredths(ratio, places):f}%"


def percent_trim(ratio: object, places: int = 2) -> str:
    """A fraction as a percentage without trailing zeros: 1.3 → "130%", 0.0835 → "8.35%"."""
    return f"{_hundredths(ratio, places).normalize():f}%"


def rate_figure(ratio: object) -> str:
    """A rate as the fee schedule writes its number, without the sign, 2 to 4 places:
    0.083500 → "8.35", 0.000125 → "0.0125"."""
    text = f"{_hundredths(ratio, 4):f}".rstrip("0")
    whole, _dot, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def ratio_percent(ratio: object | None, places: int = 2) -> str:
    """A maintenance ratio as a percentage; "∞" when there is no debt (no ratio)."""
    return INFINITE_RATIO if ratio is None else percent(ratio, places)


def beijing_minute(moment: datetime.datetime) -> str:
    """A moment to the minute in the portal's time (Beijing): "2026-12-07 09:30"."""
    return timezone.localtime(moment).strftime(MINUTE)


def from_text(value: object) -> Decimal | None:
    """What a template holds (a Decimal, a string from JSON, an int) as a Decimal; None for
    nothing. Templates get figures from JSON as strings and must not go through float."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


__all__ = [
    "FEN",
    "INFINITE_RATIO",
    "MINUTE",
    "beijing_minute",
    "from_text",
    "percent",
    "percent_trim",
    "rate_figure",
    "ratio_percent",
    "yuan",
    "yuan_cny",
    "yuan_sign",
]


def rate_percent(rate: object) -> str:
    """A published rate as a percentage, exact: at least 2 decimals, more only when the rate has
    them (0.078 → "7.80%", 0.0835 → "8.35%", 0.000233 → "0.0233%"). Never rounds a rate a client
    is charged at."""
    shown = as_decimal(rate, "rate") * 100
    exponent = shown.normalize().as_tuple().exponent  # an int: the rate is finite
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{shown.quantize(Decimal(1).scaleb(-places)):f}%"


def cny(amount: object) -> str:
    """An amount with its currency sign, the minus before it: -65562.77 → "-¥65,562.77"."""
    value = round_fen(amount)
    return f"-¥{-value:,.2f}" if value < 0 else f"¥{abs(value):,.2f}"  # abs: never "¥-0.00"


def signed_cny(amount: object) -> str:
    """A change to a balance, always with its direction: "+¥1,000.00", "-¥65,562.77", "¥0.00"."""
    value = round_fen(amount)
    return f"+{cny(value)}" if value > 0 else cny(value)
