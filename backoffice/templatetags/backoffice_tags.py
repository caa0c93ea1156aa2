import datetime

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from backoffice import dashboard
from backoffice.clients import client_of
from backoffice.views import may_read_clients

register = template.Library()


@register.simple_tag(takes_context=True)
def client_overview_url(context, obj) -> str:
    """The client page of whoever ``obj`` belongs to, for staff who may read it ("" otherwise)."""
    request = context.get("request")
    if obj is None or request is None or not may_read_clients(request.user):
        return ""
    client = client_of(obj)
    return reverse("backoffice:client", args=[client.pk]) if client is not None else ""


@register.filter
def cell(value) -> str:
    """A table cell: times in Beijing time, dates, yes/no, "—" for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, datetime.datetime):
        return date_format(timezone.localtime(value), "Y-m-d H:i")
    if isinstance(value, datetime.date):
        return date_format(value, "Y-m-d")
    return str(value)


@register.inclusion_tag("admin/backoffice/dashboard.html", takes_context=True)
def role_dashboard(context):
    """The panels of the signed-in staff member's roles (backoffice.dashboard)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"panels": []}
    return {"panels": dashboard.panels_for(user), "may_find": may_read_clients(user)}
