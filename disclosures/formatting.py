"""How an item's number is written for people, in the active language."""

from decimal import Decimal

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from disclosures.models import Basis, FeeItem
from disclosures.scenarios import Bound, Cost
from portal import formatting

# 0.083500 → "8.35" (no trailing zeros, at least 2 places); the sentence adds the sign.
percent = formatting.rate_figure
yuan = formatting.yuan_cny


def item_value(item: FeeItem) -> str:
    value = Decimal(item.value)
    if item.basis == Basis.ANNUAL_360:
        return _("%(rate)s%% a year (÷ 360 per day)") % {"rate": percent(value)}
    if item.basis == Basis.DAILY:
        return _("%(rate)s%% a day") % {"rate": percent(value)}
    if item.basis == Basis.PER_TRADE:
        return _("%(rate)s%% of the trade value") % {"rate": percent(value)}
    if item.basis == Basis.FIXED:
        return _("CNY %(amount)s each time") % {"amount": formatting.yuan(value)}
    return f"{percent(value).rstrip('0').rstrip('.')}%"


def item_name(item: FeeItem) -> str:
    return item.name_for(get_language() or "zh-hans")


def item_note(item: FeeItem) -> str:
    return item.note_for(get_language() or "zh-hans")


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
