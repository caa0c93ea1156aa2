"""`{% load pagination %}`: links between the pages of a list (see portal.pagination)."""

from __future__ import annotations

from django import template
from django.core.paginator import Page

register = template.Library()


@register.simple_tag(takes_context=True)
def page_url(context: template.Context, page: Page, number: int) -> str:
    """``?…&<param>=<number>``: the same list (its other filters kept) at another page."""
    params = context["request"].GET.copy()
    params[getattr(page, "param", "page")] = str(number)
    return "?" + params.urlencode()


@register.inclusion_tag("portal/pagination.html", takes_context=True)
def pagination(context: template.Context, page: Page, label: str = "") -> dict:
    """The page links under a list; nothing when the list fits on one page."""
    return {"request": context["request"], "page": page, "label": label}
