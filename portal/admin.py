from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal import services
from portal.admin_mixins import PortalModelAdmin
from portal.calendars import calendar_coverage_warning
from portal.forms import HolidayNoticeForm
from portal.holiday_notice import MAX_BYTES
from portal.models import CalendarOverride, OfficialSchedule

IMPORT_PERMISSION = "portal.import_calendaroverride"


def warn_about_provisional_years(request: HttpRequest) -> None:
    """Tell staff which year's holidays are estimated, and who can enter its notice."""
    warning = calendar_coverage_warning(may_import=request.user.has_perm(IMPORT_PERMISSION))
    if warning:
        messages.warning(request, warning)


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
class CalendarOverrideAdmin(BoundedDateHierarchy, PortalModelAdmin):
    list_display = ("date", "weekday", "calendar", "kind", "note", "updated_at")
    list_filter = ("calendar", "kind")
    date_hierarchy = "date"
    search_fields = ("note",)
    fields = ("date", "calendar", "kind", "note")

    @admin.display(description=gettext_lazy("weekday"), ordering="date")
    def weekday(self, obj: CalendarOverride) -> str:
        return date_format(obj.date, "D")

    def changelist_view(self, request, extra_context=None):
        warn_about_provisional_years(request)
        extra_context = {
            **(extra_context or {}),
            "may_import": request.user.has_perm(IMPORT_PERMISSION),
        }
        return super().changelist_view(request, extra_context)

    # Every change moves due times: each goes through the audited services.
    def save_model(self, request, obj, form, change):
        services.calendar_override_save(actor=request.user, override=obj)

    def delete_model(self, request, obj):
        services.calendar_override_delete(actor=request.user, override=obj)

    def delete_queryset(self, request, queryset):
        for override in queryset:
            services.calendar_override_delete(actor=request.user, override=override)

    def get_urls(self):
        notice = path(
            "import/",
            self.admin_site.admin_view(self.import_view),
            name="portal_calendaroverride_import",
        )
        return [notice, *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        form = HolidayNoticeForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            # Read one byte past the limit so an oversized file is refused, not cut short.
            data = upload.read(MAX_BYTES + 1)
            try:
                result = services.holiday_notice_import(
                    actor=request.user,
                    year=form.cleaned_data["year"],
                    source=form.cleaned_data["source"],
                    filename=upload.name,
                    data=data,
                )
            except ValidationError as error:
                field = "source" if getattr(error, "code", None) == "source" else "file"
                for message in error.messages:
                    form.add_error(field, message)
            else:
                messages.success(
                    request,
                    _(
                        "The notice for %(year)d is entered: %(created)d days added, %(changed)d "
                        "changed, %(unchanged)d already as the notice says."
                    )
                    % {
                        "year": result.year,
                        "created": result.created,
                        "changed": result.changed,
                        "unchanged": result.unchanged,
                    },
                )
                url = reverse("admin:portal_calendaroverride_changelist")
                return redirect(f"{url}?date__year={result.year}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import a holiday notice"),
            "form": form,
        }
        return TemplateResponse(request, "admin/portal/calendaroverride/import.html", context)


@admin.register(OfficialSchedule)
class OfficialScheduleAdmin(PortalModelAdmin):
    """The years whose official schedule is entered: no longer estimated by rule."""

    list_display = ("year", "calendar", "source", "entered_by", "entered_at")
    list_filter = ("calendar",)
    fields = ("year", "calendar", "source")
    list_select_related = ("entered_by",)

    def has_change_permission(self, request, obj=None):
        return False  # withdraw and enter again: each is its own audit entry

    def changelist_view(self, request, extra_context=None):
        warn_about_provisional_years(request)
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        saved = services.official_schedule_enter(
            actor=request.user, year=obj.year, calendar=obj.calendar, source=obj.source
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.official_schedule_withdraw(actor=request.user, schedule=obj)

    def delete_queryset(self, request, queryset):
        for schedule in queryset:
            services.official_schedule_withdraw(actor=request.user, schedule=schedule)
