from django import template
from django.utils.dateparse import parse_datetime

from portal.templatetags import formatting as formatting_tags

register = template.Library()


# The kernel's filters, under the names the margin and funds pages already load.
register.filter("percent", formatting_tags.percent)
register.filter("yuan", formatting_tags.yuan)


@register.filter
def when(value):
    """An ISO time string back to a datetime, for the |date filter (shown in Beijing time)."""
    return parse_datetime(value) if isinstance(value, str) else value
