from django import template

from accounts import selectors

register = template.Library()


@register.inclusion_tag("accounts/_eligibility.html", takes_context=True)
def eligibility_checklist(context):
    """The margin-eligibility checklist for the signed-in client (dashboard card)."""
    user = context["request"].user
    return {"eligibility": selectors.margin_eligibility(user), "request": context["request"]}
