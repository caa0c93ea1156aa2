"""How an item's number is written for people, in the active language."""

from decimal import Decimal

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from disclosures.models import Basis, FeeItem
from disclosures.scenarios import Bound, Cost


def percent(value: Decimal) -> str:
    """0.083500 → "8.35" (no trailing zeros, at least 2 places)."""
    text = f"{(Decimal(value) * 100).quantize(Decimal('0.0001')):f}".rstrip("0")
    whole, _dot, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def item_value(item: FeeItem) -> str:
    value = Decimal(item.value)
    if item.basis == Basis.ANNUAL_360:
        return _("%(rate)s%% a year (÷ 360 per day)") % {"rate": percent(value)}
    if item.basis == Basis.DAILY:
        return _("%(rate)s%% a day") % {"rate": percent(value)}
    if item.basis == Basis.PER_TRADE:
        return _("%(rate)s%% of the trade value") % {"rate": percent(value)}
    if item.basis == Basis.FIXED:
        return _("CNY %(amount)s each time") % {"amount": f"{value.quantize(Decimal('0.01')):,}"}
    return f"{percent(value).rstrip('0').rstrip('.')}%"


def item_name(item: FeeItem) -> str:
    return item.name_for(get_language() or "zh-hans")


def item_note(item: FeeItem) -> str:
    return item.note_for(get_language() or "zh-hans")


def yuan(value: Decimal) -> str:
    return _("CNY %(amount)s") % {"amount": f"{Decimal(value).quantize(Decimal('0.01')):,}"}


def scenario_outcome(outcome: Cost | Bound | None, *, tier_scenario: bool = False) -> str:
    """One side of a reference scenario: what it costs (and per year), or where a line binds."""
    if outcome is None:
        return _("not offered") if tier_scenario else "—"
    if isinstance(outcome, Bound):
        return f"{percent(outcome.value).rstrip('0').rstrip('.')}%"
    text = yuan(outcome.charged)
    if outcome.per_year is not None:
        text += " · " + _("%(rate)s%% a year") % {"rate": percent(outcome.per_year)}
    return text
