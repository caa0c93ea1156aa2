"""Admin building blocks shared by every app's admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

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
