"""The risk board and the monitoring records in the admin. Records are evidence: staff read
them, and every change goes through a service (work an alert, decide a response, propose or
decide a threshold change, import an event file)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from monitoring import alerts, events, responses, selectors, thresholds
from monitoring.models import (
    Alert,
    BookSnapshot,
    DailyBar,
    Evaluation,
    ExternalEvent,
    Level,
    Response,
    Threshold,
    ThresholdChange,
)
from portal import files, formatting
from portal.admin_mixins import PortalModelAdmin

NOTE_MAX_LENGTH = 1000


class ReadOnlyAdmin(PortalModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def _form_page(model_admin, request, *, title, form, intro="", extra=None) -> HttpResponse:
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "form": form,
        "intro": intro,
        **(extra or {}),
    }
    return TemplateResponse(request, "admin/monitoring/form_page.html", context)


class WorkAlertForm(forms.Form):
    ACTIONS = [
        ("acknowledge", gettext_lazy("Acknowledge (I am working on it)")),
        ("close", gettext_lazy("Close with an outcome")),
    ]
    action = forms.ChoiceField(label=gettext_lazy("Action"), choices=ACTIONS)
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome (when closing)"),
        choices=[c for c in Alert.Outcome.choices if c[0]],
        required=False,
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=NOTE_MAX_LENGTH,
        required=False,
    )


class DecideForm(forms.Form):
    ACTIONS = [
        ("confirm", gettext_lazy("Confirm (apply now)")),
        ("reject", gettext_lazy("Reject")),
        ("end", gettext_lazy("End now")),
    ]
    action = forms.ChoiceField(label=gettext_lazy("Decision"), choices=ACTIONS)
    note = forms.CharField(
        label=gettext_lazy("Note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=NOTE_MAX_LENGTH,
        required=False,
    )


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = (
        "raised_at",
        "level",
        "rule",
        "subject",
        "status",
        "last_value",
        "threshold",
        "condition_ended_at",
        "escalations",
        "outcome",
        "work_link",
    )
    list_filter = ("status", "level", "rule", "subject_kind", "source")
    search_fields = ("subject", "rule", "key")
    readonly_fields = [f.name for f in Alert._meta.fields]

    @admin.display(description=gettext_lazy("Work"))
    def work_link(self, alert: Alert) -> str:
        if alert.status == Alert.Status.CLOSED:
            return ""
        url = reverse("admin:monitoring_alert_work", args=[alert.pk])
        return format_html('<a href="{}">{}</a>', url, _("Work"))

    def get_urls(self):
        return [
            path(
                "board/",
                self.admin_site.admin_view(self.board_view),
                name="monitoring_board",
            ),
            path(
                "<int:alert_id>/work/",
                self.admin_site.admin_view(self.work_view),
                name="monitoring_alert_work",
            ),
            *super().get_urls(),
        ]

    def board_view(self, request) -> HttpResponse:
        """The risk board: open alerts, live responses, the book with small charts, and the
        accounts nearest their call line. Live: it reloads when alerts change (Channels),
        and polls every 10 seconds while its socket is down."""
        if not request.user.has_perm("monitoring.view_alert"):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Risk board"),
            **selectors.board(),
        }
        return TemplateResponse(request, "admin/monitoring/board.html", context)

    def work_view(self, request, alert_id: int) -> HttpResponse:
        if not request.user.has_perm("monitoring.work_alert"):
            raise PermissionDenied
        alert = get_object_or_404(Alert, pk=alert_id)
        form = WorkAlertForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                if data["action"] == "acknowledge":
                    alerts.alert_acknowledge(
                        alert_id=alert.pk, officer=request.user, note=data["note"]
                    )
                else:
                    alerts.alert_close(
                        alert_id=alert.pk,
                        officer=request.user,
                        outcome=data["outcome"],
                        note=data["note"],
                    )
            except alerts.AlertError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Saved."))
                return redirect("admin:monitoring_board")
        return _form_page(
            self,
            request,
            title=_("Work alert: %(alert)s") % {"alert": alert},
            form=form,
            intro=alert.message,
            extra={"alert": alert, "responses": alert.responses.all()},
        )


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = (
        "proposed_at",
        "kind",
        "instrument_code",
        "status",
        "needs_confirmation",
        "starts_at",
        "ends_at",
        "review_at",
        "clients_told",
        "decided_by",
        "decide_link",
    )
    list_filter = ("status", "kind", "needs_confirmation")
    readonly_fields = [f.name for f in Response._meta.fields]

    @admin.display(description=gettext_lazy("Decide"))
    def decide_link(self, response: Response) -> str:
        if response.status not in selectors.LIVE_RESPONSES:
            return ""
        url = reverse("admin:monitoring_response_decide", args=[response.pk])
        return format_html('<a href="{}">{}</a>', url, _("Decide"))

    def get_urls(self):
        return [
            path(
                "<int:response_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="monitoring_response_decide",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request, response_id: int) -> HttpResponse:
        if not request.user.has_perm("monitoring.decide_response"):
            raise PermissionDenied
        response = get_object_or_404(Response, pk=response_id)
        form = DecideForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            action, note = form.cleaned_data["action"], form.cleaned_data["note"]
            service = {
                "confirm": responses.response_confirm,
                "reject": responses.response_reject,
                "end": responses.response_end,
            }[action]
            try:
                service(response_id=response.pk, officer=request.user, note=note)
            except responses.ResponseError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Saved."))
                return redirect("admin:monitoring_board")
        return _form_page(
            self,
            request,
            title=_("Decide: %(response)s") % {"response": response},
            form=form,
            intro=response.reason_zh,
            extra={"response": response},
        )


class ThresholdChangeForm(forms.Form):
    value = forms.DecimalField(label=gettext_lazy("New value"), max_digits=14, decimal_places=4)
    level = forms.ChoiceField(label=gettext_lazy("Level"), choices=Level.choices)
    enabled = forms.BooleanField(label=gettext_lazy("Enabled"), required=False, initial=True)
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=NOTE_MAX_LENGTH,
    )
    source = forms.CharField(
        label=gettext_lazy("Source (rule text)"),
        max_length=200,
        required=False,
        help_text=gettext_lazy(
            "The rule text checked, with its version and article; empty: unchanged."
        ),
    )
    confirms_source = forms.BooleanField(
        label=gettext_lazy("Checked against the current rule text"),
        required=False,
    )


@admin.register(Threshold)
class ThresholdAdmin(ReadOnlyAdmin):
    list_display = (
        "rule",
        "scope",
        "value",
        "level",
        "enabled",
        "source",
        "confirmed",
        "changed_at",
        "link",
    )
    list_filter = ("level", "enabled")

    @admin.display(description=gettext_lazy("Source confirmed"))
    def confirmed(self, row: Threshold) -> str:
        if row.source_confirmed_at is None:
            return _("Not confirmed")
        return formatting.beijing_minute(row.source_confirmed_at)

    @admin.display(description=gettext_lazy("Change"))
    def link(self, row: Threshold) -> str:
        url = reverse("admin:monitoring_threshold_propose", args=[row.pk])
        return format_html('<a href="{}">{}</a>', url, _("Propose a change"))

    def get_urls(self):
        return [
            path(
                "<int:threshold_id>/propose/",
                self.admin_site.admin_view(self.propose_view),
                name="monitoring_threshold_propose",
            ),
            *super().get_urls(),
        ]

    def propose_view(self, request, threshold_id: int) -> HttpResponse:
        if not request.user.has_perm("monitoring.decide_thresholdchange"):
            raise PermissionDenied
        row = get_object_or_404(Threshold, pk=threshold_id)
        initial = {
            "value": row.value,
            "level": row.level,
            "enabled": row.enabled,
            "source": row.source,
        }
        form = ThresholdChangeForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                thresholds.threshold_change_propose(
                    officer=request.user, threshold=row, **form.cleaned_data
                )
            except thresholds.ThresholdError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Proposed; a second risk officer must approve it."))
                return redirect("admin:monitoring_thresholdchange_changelist")
        return _form_page(self, request, title=str(row), form=form, intro=row.source)


@admin.register(ThresholdChange)
class ThresholdChangeAdmin(ReadOnlyAdmin):
    list_display = (
        "proposed_at",
        "threshold",
        "value",
        "level",
        "enabled",
        "status",
        "proposed_by",
        "decided_by",
        "reason",
    )
    list_filter = ("status",)
    actions = ["approve"]

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("monitoring.decide_thresholdchange")

    @admin.action(
        description=gettext_lazy("Approve the selected changes (in force at once)"),
        permissions=["decide"],
    )
    def approve(self, request, queryset) -> None:
        for change in queryset.filter(status=ThresholdChange.Status.PROPOSED):
            try:
                thresholds.threshold_change_decide(
                    officer=request.user, change_id=change.pk, approve=True
                )
            except thresholds.ThresholdError as error:
                self.message_user(request, str(error), level=messages.ERROR)
                return
        self.message_user(request, _("Approved."))


class EventFileForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Event file (JSON or CSV, UTF-8)"))


@admin.register(ExternalEvent)
class ExternalEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "scope", "subject", "severity", "source", "text", "alert")
    list_filter = ("scope", "severity", "source")

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="monitoring_externalevent_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request) -> HttpResponse:
        if not request.user.has_perm("monitoring.add_externalevent"):
            raise PermissionDenied
        form = EventFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > 5 * 1024 * 1024:
                form.add_error("file", _("At most 5 MB."))
            else:
                try:
                    created = events.events_import(
                        data=upload.read(), name=upload.name, actor=request.user
                    )
                except events.EventFileError as error:
                    for problem in error.problems[:20]:
                        form.add_error(None, problem)
                else:
                    messages.success(
                        request, _("%(n)d new event(s) imported as alerts.") % {"n": len(created)}
                    )
                    return redirect("admin:monitoring_externalevent_changelist")
        return _form_page(
            self,
            request,
            title=_("Import external events"),
            form=form,
            intro=_(
                "Columns: time, scope (instrument, sector or market), subject, severity (info, "
                "warning, critical), source, text. One bad row and nothing is imported."
            ),
            extra={"multipart": True},
        )


@admin.register(BookSnapshot)
class BookSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("at",)


@admin.register(DailyBar)
class DailyBarAdmin(ReadOnlyAdmin):
    list_display = ("code", "day", "close", "volume", "turnover", "float_shares")
    list_filter = ("day",)
    search_fields = ("code",)


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyAdmin):
    list_display = ("period", "starts_on", "ends_on", "created_at", "sha256", "download_link")

    @admin.display(description=gettext_lazy("PDF"))
    def download_link(self, row: Evaluation) -> str:
        url = reverse("admin:monitoring_evaluation_download", args=[row.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download"))

    def get_urls(self):
        return [
            path(
                "<int:evaluation_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name="monitoring_evaluation_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request, evaluation_id: int) -> HttpResponse:
        row = get_object_or_404(Evaluation, pk=evaluation_id)
        return files.serve(
            request,
            owner_id=None,
            staff_permission="monitoring.view_evaluation",
            open_file=lambda: row.pdf.open("rb"),
            filename=f"wangrun-monitoring-{row.period}-{row.starts_on}.pdf",
            content_type="application/pdf",
            inline=True,
        )
