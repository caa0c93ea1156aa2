"""Exports on every admin list (backoffice.exports), offered to whoever may read the list."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from backoffice import exports


@admin.action(description=_("Export the selected rows to CSV"))
def export_csv(model_admin, request, queryset):
    return exports.export_csv(model_admin, request, queryset)


@admin.action(description=_("Export the selected rows to Excel"))
def export_xlsx(model_admin, request, queryset):
    return exports.export_xlsx(model_admin, request, queryset)


admin.site.add_action(export_csv, "export_csv")
admin.site.add_action(export_xlsx, "export_xlsx")
