"""Compliance edits course drafts, publishes them, and reads the statistics and the evidence.

A published version and everything in it is read-only here (the models refuse changes too); a
change means a new draft, copied from the latest version by the "new draft" action.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from education import products, selectors, services
from education.models import (
    Course,
    CourseVersion,
    GateConfirmation,
    Lesson,
    Question,
    QuizAttempt,
    WarningSetting,
)
from portal.admin import BoundedDateHierarchy
from portal.admin_mixins import PortalModelAdmin, ReadOnlyAdminMixin


def _editable(obj: CourseVersion | None) -> bool:
    return obj is None or not obj.is_published


class LessonInline(admin.StackedInline):
    model = Lesson
    extra = 0

    def has_change_permission(self, request, obj=None):
        return _editable(obj) and super().has_change_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return _editable(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _editable(obj) and super().has_delete_permission(request, obj)


class QuestionInline(LessonInline):
    model = Question


@admin.register(Course)
class CourseAdmin(PortalModelAdmin):
    list_display = ("title_zh", "title_en", "slug", "required_for_gate")
    actions = ["new_draft"]

    @admin.action(description=gettext_lazy("New draft version from the latest"))
    def new_draft(self, request: HttpRequest, queryset):
        if not request.user.has_perm("education.add_courseversion"):
            self.message_user(request, _("You may not draft course versions."), messages.ERROR)
            return
        for course in queryset:
            draft = services.course_version_new_draft(actor=request.user, course=course)
            self.message_user(request, _("Drafted %(v)s.") % {"v": draft})


@admin.register(CourseVersion)
class CourseVersionAdmin(PortalModelAdmin):
    list_display = ("__str__", "status", "published_at", "completion", "pass_rate")
    list_filter = ("course", "status")
    inlines = [LessonInline, QuestionInline]
    actions = ["publish"]
    readonly_fields = (
        "status",
        "content_hash",
        "published_at",
        "published_by",
        "created_by",
        "statistics",
    )

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_published:
            return ("course", "number", "pass_mark", *self.readonly_fields)
        return self.readonly_fields

    def has_change_permission(self, request, obj=None):
        # A published version is fixed (its model refuses to save): shown, never saved again.
        return _editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _editable(obj) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description=gettext_lazy("completion"))
    def completion(self, obj: CourseVersion) -> str:
        stats = selectors.version_stats(obj)
        return f"{stats.completion_rate}% ({stats.completed}/{stats.learners})"

    @admin.display(description=gettext_lazy("quiz pass rate"))
    def pass_rate(self, obj: CourseVersion) -> str:
        stats = selectors.version_stats(obj)
        return f"{stats.pass_rate}% ({stats.passed_attempts}/{stats.attempts})"

    @admin.display(description=gettext_lazy("statistics"))
    def statistics(self, obj: CourseVersion) -> str:
        if obj.pk is None:
            return "—"
        stats = selectors.version_stats(obj)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}%</td><td>{}/{}</td></tr>",
            ((s.question.text_zh[:80], s.wrong_rate, s.wrong, s.answered) for s in stats.hardest),
        )
        return format_html(
            "<p>{}: {}% ({}/{}) · {}: {}% ({}/{})</p>"
            '<table data-testid="hardest"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr>'
            "</thead><tbody>{}</tbody></table>",
            _("Completion"),
            stats.completion_rate,
            stats.completed,
            stats.learners,
            _("Quiz pass rate"),
            stats.pass_rate,
            stats.passed_attempts,
            stats.attempts,
            _("Question (hardest first)"),
            _("Answered wrongly"),
            _("Wrong / attempts"),
            rows,
        )

    @admin.action(description=gettext_lazy("Publish (the version can never change afterwards)"))
    def publish(self, request: HttpRequest, queryset):
        if not request.user.has_perm("education.publish_courseversion"):
            self.message_user(request, _("You may not publish course versions."), messages.ERROR)
            return
        for version in queryset:
            try:
                services.course_version_publish(actor=request.user, version=version)
            except (services.StepRefused, ValueError) as refused:
                self.message_user(request, f"{version}: {refused}", messages.ERROR)
            else:
                self.message_user(request, _("Published %(v)s.") % {"v": version})


class _ReadOnly(ReadOnlyAdminMixin, PortalModelAdmin):
    pass


@admin.register(QuizAttempt)
class QuizAttemptAdmin(_ReadOnly):
    list_display = ("user", "version", "score", "passed", "submitted_at")
    list_filter = ("version", "passed")
    search_fields = ("user__email",)


@admin.register(GateConfirmation)
class GateConfirmationAdmin(BoundedDateHierarchy, _ReadOnly):
    """Each client's gate history: search by email; every field is evidence, read-only."""

    list_display = (
        "user",
        "kind",
        "product_name",
        "confirmed_at",
        "valid_until",
        "withdrawn_at",
        "expired_at",
        "expiry_reason",
    )
    list_filter = ("kind", "expiry_reason")
    search_fields = ("user__email", "evidence_hash")
    date_hierarchy = "confirmed_at"

    @admin.display(description=gettext_lazy("product"), ordering="product")
    def product_name(self, obj: GateConfirmation) -> str:
        return products.product_label(obj.product)


@admin.register(WarningSetting)
class WarningSettingAdmin(PortalModelAdmin):
    list_display = ("document", "min_reading_seconds")
