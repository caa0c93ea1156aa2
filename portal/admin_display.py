"""How the admin writes figures for staff: amounts in yuan with ¥ and separators, ratios as
percentages, durations in days and hours of the reader's language.

Built on the kernel's formatters (portal.money) so the admin shows exactly the figure a client
sees; ``money_column`` and ``ratio_column`` make list columns out of model fields (class attributes
of a ModelAdmin, so each is called as a method).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.contrib import admin
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from portal.money import percent, yuan


def yuan_text(amount: Decimal | None) -> str:
    """1234.5 → "¥1,234.50"; a negative amount keeps its sign before the ¥."""
    if amount is None:
        return "—"
    text = yuan(abs(amount))
    return f"−¥{text}" if amount < 0 else f"¥{text}"


def ratio_text(ratio: Decimal | None, places: int = 2) -> str:
    """1.5012 → "150.12%"; no ratio (no debt) → "∞"."""
    if ratio is None:
        return "∞"
    return percent(ratio, places)


def duration_text(value: timedelta | None) -> str:
    """A service-time length as staff say it: "3天8小时", "30分钟" (in English "3 d 8 h")."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(_("%(n)d d") % {"n": days})
    if hours:
        parts.append(_("%(n)d h") % {"n": hours})
    if minutes or not parts:
        parts.append(_("%(n)d min") % {"n": minutes})
    # Chinese writes 3天8小时 without spaces.
    return ("" if (get_language() or "").startswith("zh") else " ").join(parts)


def money_column(field: str, description) -> Callable:
    """A list column showing the model field ``field`` in yuan."""

    @admin.display(description=description, ordering=field)
    def column(_model_admin, obj) -> str:
        return yuan_text(getattr(obj, field))

    column.__name__ = f"{field}_yuan"
    return column


def ratio_column(field: str, description) -> Callable:
    """A list column showing the ratio field ``field`` as a percentage."""

    @admin.display(description=description, ordering=field)
    def column(_model_admin, obj) -> str:
        return ratio_text(getattr(obj, field))

    column.__name__ = f"{field}_percent"
    return column


def duration_column(field: str, description) -> Callable:
    @admin.display(description=description, ordering=field)
    def column(_model_admin, obj) -> str:
        return duration_text(getattr(obj, field))

    column.__name__ = f"{field}_text"
    return column
