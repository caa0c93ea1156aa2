"""How support times read to a person: "today at 14:30", "2 h 15 min"."""

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

from support.sla import SERVICE_DAY

register = template.Library()


@register.filter
def promise_time(moment: datetime | None) -> str:
    """A due time relative to today in Beijing time, the way a person would say it."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    today = timezone.localdate()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        return _("today at %(time)s") % {"time": clock}
    if local.date() == today + timedelta(days=1):
        return _("tomorrow at %(time)s") % {"time": clock}
    day = date_format(local.date(), "MONTH_DAY_FORMAT")
    if local.year != today.year:
        day = date_format(local.date(), "DATE_FORMAT")
    return _("%(day)s at %(time)s") % {"day": day, "time": clock}


@register.simple_tag
def local_time(moment: datetime | None):
    """A <time> the browser may restate in the reader's own zone (static/js/support.js)."""
    if moment is None:
        return ""
    return format_html(
        '<time datetime="{}" class="support-time">{}</time>',
        moment.isoformat(),
        promise_time(moment),
    )


@register.filter
def hours_minutes(value: timedelta | None) -> str:
    if not isinstance(value, timedelta):
        return "—"
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if hours:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(minutes)d min") % {"minutes": minutes}


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


@register.filter
def service_days(value: timedelta | None) -> str:
    """A resolution target in service days (8 service hours each, see support.sla)."""
    if not isinstance(value, timedelta):
        return "—"
    days = value / SERVICE_DAY
    return f"{days:g}"
