"""Admin building blocks shared by every app's admin."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from portal.forms import ActionReasonForm

# Rows on one page of a staff list, as on the client's lists (portal.pagination: 20). Django's
# default of 100 rows cost the outbox's list about 100 ms of server time (bench/pages.py); a
# page of 25 stays under the 50 ms budget, and staff narrow a list with its search and filters
# rather than scroll it.
LIST_PER_PAGE = 25


class ReadOnlyAdminMixin:
    """Staff read these rows; only services write them (evidence, queues, reference data).

    Put it first among the bases: `class LedgerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin)`.
    Works for inlines too.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PortalModelAdmin(admin.ModelAdmin):
    """Every model admin of the portal starts here: lists of `LIST_PER_PAGE` rows, and the row
    checkbox written directly instead of through the form-widget templates.

    Django renders each row's checkbox as a `CheckboxInput` through two templates, which on a
    list of 100 rows was a third of the page's server time. `action_checkbox` writes the same
    markup (tests/portal/test_admin_lists.py compares the two) with one `format_html`.
    """

    list_per_page = LIST_PER_PAGE

    def action_checkbox(self, obj: Any) -> SafeString:
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            format_html(_("Select this object for an action - {}"), str(obj)),
        )


@dataclass(frozen=True)
class ActionWithReason:
    """An admin action that first asks for the reason the people concerned will read, on a page
    listing the selected rows it can still act on (templates/admin/action_with_reason.html), and
    acts only once a reason is given. Declared beside the admin with its words (lazy strings);
    the action method returns ``ask_or_act(...)``.
    """

    name: str  # the action method's name, posted again with the reason
    title: Any
    intro: Any
    label: Any
    help_text: Any
    submit: Any
    none_left: Any  # shown instead of the form when no selected row can be acted on
    back: Any

    def ask_or_act(
        self,
        modeladmin: admin.ModelAdmin,
        request: HttpRequest,
        rows: QuerySet,
        act: Callable[[Iterable[Any], str], None],
        describe: Callable[[Any], str] = str,
    ) -> TemplateResponse | None:
        """Once a reason is posted, ``act(rows, reason)`` (which tells staff how it went) and
        None, so that Django returns them to the list; until then the page, with the form again
        if the reason was empty. ``describe`` is how a row reads in the page's list."""
        form = ActionReasonForm(
            request.POST if "confirm" in request.POST else None,
            label=self.label,
            help_text=self.help_text,
        )
        if form.is_bound and form.is_valid():
            act(rows, form.cleaned_data["reason"])
            return None
        context = {
            **modeladmin.admin_site.each_context(request),
            "opts": modeladmin.model._meta,
            "title": self.title,
            "reason_action": self,
            "rows": [(row.pk, describe(row)) for row in rows],
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/action_with_reason.html", context)
