from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from portal.calendars import calendar_coverage_warning
from portal.models import CalendarOverride


class BoundedDatesChangeList(ChangeList):
    """Django's change list turns a date-hierarchy year no calendar has (?x__year=99999999999)
    into a 500 (an OverflowError where it expects a ValueError): it is a bad filter like any
    other, answered with the list and "?e=1"."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except OverflowError as exc:
            raise IncorrectLookupParameters(exc) from exc


class BoundedDateHierarchy:
    """For a ModelAdmin with a ``date_hierarchy``."""

    def get_changelist(self, request, **kwargs):
        return BoundedDatesChangeList


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(BoundedDateHierarchy, admin.ModelAdmin):
    list_display = ("date", "weekday", "calendar", "kind", "note")
    list_filter = ("calendar", "kind")
    date_hierarchy = "date"
    search_fields = ("note",)
    fields = ("date", "calendar", "kind", "note")

    @admin.display(description=_("weekday"), ordering="date")
    def weekday(self, obj: CalendarOverride) -> str:
        return date_format(obj.date, "D")

    def changelist_view(self, request, extra_context=None):
        # Staff who keep the calendar are told here which year they still have to enter.
        warning = calendar_coverage_warning()
        if warning:
            messages.warning(request, warning)
        return super().changelist_view(request, extra_context)
