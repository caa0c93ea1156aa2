"""`{% load formatting %}`: the kernel's formatters as template filters (see portal.formatting).

Each filter shows nothing for a missing figure, so a page can show a row before its figure exists.
"""

from __future__ import annotations

import datetime

from django import template

from portal import formatting

register = template.Library()


@register.filter
def yuan(value: object) -> str:
    """1234.5 → "¥1,234.50"."""
    amount = formatting.from_text(value)
    return "" if amount is None else formatting.yuan_sign(amount)


@register.filter
def yuan_plain(value: object) -> str:
    """1234.5 → "1,234.50" (the page writes the unit)."""
    amount = formatting.from_text(value)
    return "" if amount is None else formatting.yuan(amount)


@register.filter
def percent(value: object) -> str:
    """A ratio or fraction as a percentage with 2 places: "1.5800" → "158.00%"."""
    ratio = formatting.from_text(value)
    return "" if ratio is None else formatting.percent(ratio)


@register.filter
def ratio_percent(value: object) -> str:
    """A maintenance ratio: "∞" when there is no debt."""
    return formatting.ratio_percent(formatting.from_text(value))


@register.filter
def beijing_minute(value: datetime.datetime | None) -> str:
    """A moment to the minute in Beijing time: "2026-12-07 09:30"."""
    return "" if value is None else formatting.beijing_minute(value)
