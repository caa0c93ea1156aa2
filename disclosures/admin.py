"""The compliance workflow in the admin: draft, preview the diff, submit, approve, schedule.

Each step is a POST to a small admin view that calls one service; the services enforce the rules
(four-eyes, notice periods, the chain of versions), the admin only shows their refusals. Whoever
looks at a draft or a version in review — the approver above all — sees the reference scenarios
before and after and the notice they imply. The calendar shows compliance every change coming,
with how clients answered. Published versions, notices and acknowledgements are read-only here.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit import services as audit
from disclosures import diff, selectors, services
from disclosures.models import (
    Acknowledgement,
    ChangeNotice,
    Document,
    DocumentVersion,
    FeeItem,
    VersionStatus,
    WorseWhen,
)
from portal.admin_mixins import PortalModelAdmin, ReadOnlyAdminMixin


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    list_display = ("title_zh", "title_en", "kind")
    readonly_fields = ("kind", "title_zh", "title_en", "order")

    def get_urls(self):
        new_draft = path(
            "<int:pk>/new-draft/",
            self.admin_site.admin_view(self.new_draft_view),
            name="disclosures_document_new_draft",
        )
        return [new_draft, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_draft": request.user.has_perm("disclosures.add_documentversion"),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def new_draft_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST" or not request.user.has_perm("disclosures.add_documentversion"):
            raise PermissionDenied
        document = get_object_or_404(Document, pk=pk)
        version = services.version_draft_create(actor=request.user, document=document)  # type: ignore[arg-type]
        base = version.base
        if base is not None:
            message = _(
                "Draft %(label)s created from %(base)s, the latest version in force or scheduled."
            )
            messages.success(request, message % {"label": version.label, "base": base.label})
        else:
            messages.success(request, _("Draft %(label)s created.") % {"label": version.label})
        return redirect("admin:disclosures_documentversion_change", version.pk)


class FeeItemFormSet(forms.BaseInlineFormSet):
    """An item keeps the kind it has in the version the draft starts from: the kind fixes which
    way hurts clients, so another kind is another item, with its own code."""

    def clean(self) -> None:
        super().clean()
        base = selectors.comparison_base(self.instance)
        kinds = {item.code: item.kind for item in selectors.items_of(base)}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            code, kind = data.get("code"), data.get("kind")
            if data.get("DELETE") or code not in kinds or kind == kinds[code]:
                continue
            form.add_error(
                "kind",
                _(
                    "%(code)s is of another kind in %(base)s. Which way an item hurts clients is "
                    "fixed by its kind: give an item of another kind a new code."
                )
                % {"code": code, "base": base.label if base else ""},
            )


class FeeItemInline(admin.TabularInline):
    model = FeeItem
    formset = FeeItemFormSet
    extra = 0
    fields = (
        "order",
        "code",
        "name_zh",
        "name_en",
        "kind",
        "worse_for_clients",
        "basis",
        "value",
        "tier",
        "note_zh",
        "note_en",
    )
    readonly_fields = ("worse_for_clients",)

    @admin.display(description=gettext_lazy("worse for clients when"))
    def worse_for_clients(self, obj: FeeItem) -> str:
        if not obj or not obj.kind:
            return "—"
        return str(WorseWhen(obj.worse_when).label)

    def _editable(self, obj) -> bool:
        return obj is not None and obj.status == VersionStatus.DRAFT

    def has_add_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


class ScheduleForm(forms.Form):
    effective_at = forms.DateTimeField(
        label=gettext_lazy("Effective from (Beijing time)"),
        input_formats=["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class ReturnForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Why it goes back"), max_length=500)


@admin.register(DocumentVersion)
class DocumentVersionAdmin(PortalModelAdmin):
    list_display = (
        "document",
        "version_label",
        "base",
        "status",
        "created_by",
        "approved_by",
        "effective_at",
        "favourable",
    )
    list_filter = ("status", "document")
    list_select_related = ("document", "base", "created_by", "approved_by")

    @admin.display(description=gettext_lazy("version"), ordering="number")
    def version_label(self, obj: DocumentVersion) -> str:
        return obj.label

    inlines = [FeeItemInline]
    change_form_template = "admin/disclosures/documentversion/change_form.html"
    change_list_template = "admin/disclosures/documentversion/change_list.html"
    draft_fields = ("text_zh", "text_en", "summary_zh", "summary_en")
    info_fields = (
        "document",
        "number",
        "base",
        "status",
        "content_hash",
        "created_by",
        "created_at",
        "submitted_by",
        "submitted_at",
        "approved_by",
        "approved_at",
        "approved_hash",
        "scheduled_by",
        "published_at",
        "effective_at",
        "in_force_at",
        "superseded_at",
        "notice_days",
        "favourable",
    )

    def get_fields(self, request, obj=None):
        return [*self.draft_fields, *self.info_fields]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status == VersionStatus.DRAFT:
            return self.info_fields
        return [*self.draft_fields, *self.info_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # drafts start from a document ("new draft"), so they copy the latest version

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        if obj is not None and obj.status != VersionStatus.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        audit.record(
            actor=request.user,
            action="disclosures.draft_edit",
            obj=obj,
            data={"fields": sorted(form.changed_data)},
        )

    def get_urls(self):
        def view(name, func):
            return path(
                f"<int:pk>/{name}/",
                self.admin_site.admin_view(func),
                name=f"disclosures_documentversion_{name}",
            )

        return [
            view("preview", self.preview_view),
            view("submit", self.submit_view),
            view("approve", self.approve_view),
            view("return", self.return_view),
            view("schedule", self.schedule_view),
            view("rebase", self.rebase_view),
            path(
                "calendar/",
                self.admin_site.admin_view(self.calendar_view),
                name="disclosures_documentversion_calendar",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        user = request.user
        extra_context = {**(extra_context or {})}
        if version is not None:
            pending = version.status in (VersionStatus.DRAFT, VersionStatus.IN_REVIEW)
            comparison = selectors.comparison_for(version)
            extra_context.update(
                workflow_version=version,
                comparison=comparison,
                earliest=comparison.decision.earliest(timezone.now()),
                can_rebase=pending
                and not comparison.on_latest
                and user.has_perm("disclosures.change_documentversion"),
                can_submit=version.status == VersionStatus.DRAFT
                and user.has_perm("disclosures.change_documentversion"),
                can_approve=version.status == VersionStatus.IN_REVIEW
                and version.approved_by_id is None
                and user.has_perm("disclosures.approve_documentversion"),
                can_schedule=version.status == VersionStatus.IN_REVIEW
                and version.approved_by_id is not None
                and user.has_perm("disclosures.schedule_documentversion"),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def _version(self, request: HttpRequest, pk: int) -> DocumentVersion:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(DocumentVersion.objects.select_related("document"), pk=pk)

    def _back(self, version: DocumentVersion) -> HttpResponseRedirect:
        return redirect("admin:disclosures_documentversion_change", version.pk)

    def _context(self, request, version: DocumentVersion, title: str, **extra) -> dict:
        comparison = selectors.comparison_for(version)
        base = comparison.base
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "version": version,
            "current": base,
            "comparison": comparison,
            "rows": diff.side_by_side(base.text_zh if base else "", version.text_zh),
            "rows_en": diff.side_by_side(base.text_en if base else "", version.text_en),
            "item_rows": selectors.item_rows(base, version),
            "decision": comparison.decision,
            "earliest": comparison.decision.earliest(timezone.now()),
            **extra,
        }

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk)
        context = self._context(
            request,
            version,
            _("Preview: %(v)s against the version it starts from") % {"v": version},
        )
        return TemplateResponse(request, "admin/disclosures/documentversion/preview.html", context)

    def _step(self, request: HttpRequest, pk: int, step, done: str) -> HttpResponse:
        if request.method != "POST":
            raise PermissionDenied
        version = self._version(request, pk)
        try:
            step(version)
        except services.DisclosureError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, done)
        return self._back(version)

    def submit_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.has_perm("disclosures.change_documentversion"):
            raise PermissionDenied
        return self._step(
            request,
            pk,
            lambda v: services.version_submit(actor=request.user, version=v),  # type: ignore[arg-type]
            _("Submitted for review. A second compliance officer must approve it."),
        )

    def approve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._step(
            request,
            pk,
            lambda v: services.version_approve(actor=request.user, version=v),  # type: ignore[arg-type]
            _("Approved. It can now be scheduled."),
        )

    def return_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = ReturnForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Say why the version goes back."))
            return self._back(self._version(request, pk))
        return self._step(
            request,
            pk,
            lambda v: services.version_return_to_draft(
                actor=request.user,  # type: ignore[arg-type]
                version=v,
                reason=form.cleaned_data["reason"],
            ),
            _("Sent back to draft."),
        )

    def rebase_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.has_perm("disclosures.change_documentversion"):
            raise PermissionDenied
        return self._step(
            request,
            pk,
            lambda v: services.version_rebase(actor=request.user, version=v),  # type: ignore[arg-type]
            _(
                "Rebased onto the latest version: its changes are kept and this draft's are "
                "replayed on top. Check the summary, then submit it for review again."
            ),
        )

    def calendar_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Calendar of disclosure changes"),
            "documents": selectors.change_calendar(now=timezone.now()),
        }
        return TemplateResponse(request, "admin/disclosures/documentversion/calendar.html", context)

    def schedule_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk)
        if not request.user.has_perm("disclosures.schedule_documentversion"):
            raise PermissionDenied
        form = ScheduleForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.version_schedule(
                    actor=request.user,  # type: ignore[arg-type]
                    version=version,
                    effective_at=form.cleaned_data["effective_at"],
                )
            except services.DisclosureError as exc:
                form.add_error("effective_at", str(exc))
            else:
                messages.success(
                    request,
                    _("Published and scheduled. Every client has been notified."),
                )
                return self._back(version)
        context = self._context(request, version, _("Schedule %(v)s") % {"v": version}, form=form)
        return TemplateResponse(request, "admin/disclosures/documentversion/schedule.html", context)


class AnswerFilter(admin.SimpleListFilter):
    title = gettext_lazy("answer")
    parameter_name = "answer"

    def lookups(self, request, model_admin):
        return selectors.ANSWER_CHOICES

    def queryset(self, request, queryset):
        return selectors.notices_by_answer(queryset, self.value()) if self.value() else queryset


@admin.register(ChangeNotice)
class ChangeNoticeAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    list_display = ("version", "client", "notified_at", "read_at", "reminder_sent_at")
    list_filter = ("version__document", AnswerFilter, "version")
    search_fields = ("client__email",)
    list_select_related = ("version__document", "client")


@admin.register(Acknowledgement)
class AcknowledgementAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    list_display = ("acknowledged_at", "client", "version", "decision", "ip_address")
    list_filter = ("decision", "version__document")
    search_fields = ("client__email", "content_hash")
    list_select_related = ("version__document", "client")
