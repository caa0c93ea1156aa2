from decimal import Decimal

from django import template
from django.utils.translation import get_language

from disclosures import formatting, selectors
from portal import money

register = template.Library()


@register.simple_tag
def item_value(item) -> str:
    return formatting.item_value(item) if item is not None else "—"


@register.simple_tag
def item_name(item) -> str:
    return formatting.item_name(item)


@register.simple_tag
def item_note(item) -> str:
    return formatting.item_note(item)


@register.simple_tag
def localized(obj, attr: str) -> str:
    """`{% localized version "summary" %}` → summary_zh or summary_en for the active language."""
    return getattr(obj, f"{attr}_for")(get_language() or "zh-hans")


@register.inclusion_tag("disclosures/_banner.html", takes_context=True)
def pending_changes_banner(context) -> dict:
    """The banner of changes a signed-in client has not answered yet, on every page."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.is_staff:
        return {"banner_notices": []}
    match = request.resolver_match
    if match and match.namespace == "disclosures" and match.url_name == "change":
        return {"banner_notices": []}  # the change page itself says it all
    return {"banner_notices": selectors.banner_notices(user=user)}


@register.simple_tag
def scenario_side(row, side: str) -> str:
    """`{% scenario_side row "before" %}`: one side of a reference scenario, for people."""
    return formatting.scenario_outcome(
        getattr(row, side), tier_scenario=row.key.startswith("financing:")
    )


@register.filter
def fraction_percent(value) -> str:
    """0.000300 → "0.03%", as the fee table writes a rate."""
    return f"{formatting.percent(value)}%" if value not in (None, "") else ""


@register.filter
def grouped(value) -> str:
    """An amount with thousands separators, half-up to the fen: 1234567.5 → "1,234,567.50"."""
    if value is None or value == "":
        return ""
    return money.yuan(Decimal(str(value)))


@register.filter
def signed_grouped(value) -> str:
    """A difference with its direction: "+¥12.30", "-¥4.00"."""
    return money.signed_cny(Decimal(str(value)))


@register.filter
def rate(value) -> str:
    """A published rate, exact: 0.0835 → "8.35%"."""
    return money.rate_percent(Decimal(str(value)))
