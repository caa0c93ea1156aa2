from django.contrib import admin, messages
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from portal.calendars import calendar_coverage_warning
from portal.models import CalendarOverride


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):
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
