from decimal import Decimal

from django import template
from django.utils.dateparse import parse_datetime

register = template.Library()


@register.filter
def percent(value) -> str:
    """A ratio or fraction as a percentage with 2 places: "1.5800" → "158.00%"."""
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)) * 100:.2f}%"


@register.filter
def yuan(value) -> str:
    if value is None or value == "":
        return ""
    return f"¥{Decimal(str(value)):,.2f}"


@register.filter
def when(value):
    """An ISO time string back to a datetime, for the |date filter (shown in Beijing time)."""
    return parse_datetime(value) if isinstance(value, str) else value
