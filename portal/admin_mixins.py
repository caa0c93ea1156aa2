"""Admin building blocks shared by every app's admin."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


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
