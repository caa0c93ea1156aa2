from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.utils.translation import gettext_lazy as _

from audit.labels import action_label, object_type_label
from audit.models import AuditEntry
from portal.admin_mixins import PortalModelAdmin, ReadOnlyAdminMixin


class _BoundedDatesChangeList(ChangeList):
    # As portal.admin.BoundedDatesChangeList, which this app (below portal) cannot import: a
    # date-filter year no calendar has is a bad filter ("?e=1"), not a server error.
    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except OverflowError as exc:
            raise IncorrectLookupParameters(exc) from exc


class _LabelledValuesFilter(admin.SimpleListFilter):
    """A filter on a stored key, offering each key present under its translated label."""

    label = staticmethod(str)

    def lookups(self, request, model_admin):
        values = (
            AuditEntry.objects.order_by().values_list(self.parameter_name, flat=True).distinct()
        )
        return sorted(((v, self.label(v)) for v in values if v), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(**{self.parameter_name: value}) if value else queryset


class ActionFilter(_LabelledValuesFilter):
    title = _("action")
    parameter_name = "action"
    label = staticmethod(action_label)


class ObjectTypeFilter(_LabelledValuesFilter):
    title = _("object type")
    parameter_name = "object_type"
    label = staticmethod(object_type_label)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    """Read-only: the trail is appended to by the services, never edited by hand."""

    list_display = ("seq", "created_at", "actor_repr", "action_name", "object_kind", "object_id")
    list_filter = (ActionFilter, ObjectTypeFilter)
    search_fields = ("actor_repr", "action", "object_id")
    date_hierarchy = "created_at"

    def get_changelist(self, request, **kwargs):
        return _BoundedDatesChangeList

    readonly_fields = [
        "seq",
        "created_at",
        "actor_repr",
        "action_name",
        "object_kind",
        "object_id",
        "data",
        "prev_hash",
        "hash",
    ]
    fields = readonly_fields
    show_full_result_count = False

    @admin.display(description=_("action"), ordering="action")
    def action_name(self, obj: AuditEntry) -> str:
        return action_label(obj.action)

    @admin.display(description=_("object type"), ordering="object_type")
    def object_kind(self, obj: AuditEntry) -> str:
        return object_type_label(obj.object_type)
