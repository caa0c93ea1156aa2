from decimal import Decimal

from django import template
from django.utils.dateparse import parse_datetime

from portal import formatting

register = template.Library()


@register.filter
def percent(value) -> str:
    """A ratio or fraction as a percentage with 2 places: "1.5800" → "158.00%"."""
    if value is None or value == "":
        return ""
    return formatting.percent(Decimal(str(value)))


@register.filter
def yuan(value) -> str:
    """An amount with its sign before the currency: "-¥65,562.77", never "¥-65,562.77"."""
    if value is None or value == "":
        return ""
    return formatting.cny(Decimal(str(value)))


@register.filter
def signed_yuan(value) -> str:
    """A change to a balance with its direction: "+¥8,000.00", "-¥262,000.00"."""
    if value is None or value == "":
        return ""
    return formatting.signed_cny(Decimal(str(value)))


@register.filter
def owed(value) -> str:
    """What the client owes, shown as a negative balance next to their cash: "-¥262,000.00"."""
    if value is None or value == "":
        return ""
    return formatting.cny(-Decimal(str(value)))


@register.filter
def rate(value) -> str:
    """A published rate, exact: 0.078 → "7.80%", 0.000233 → "0.0233%"."""
    if value is None or value == "":
        return ""
    return formatting.rate_percent(Decimal(str(value)))


@register.filter
def when(value):
    """An ISO time string back to a datetime, for the |date filter (shown in Beijing time)."""
    return parse_datetime(value) if isinstance(value, str) else value
