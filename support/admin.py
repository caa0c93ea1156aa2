from django.contrib import admin

from support.models import SlaPolicy


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    """The promised times; edits apply to clocks started afterwards (see SlaPolicy)."""

    list_display = (
        "ticket_type",
        "priority",
        "calendar",
        "first_response",
        "next_response",
        "resolution",
        "resolution_ceiling",
        "updated_at",
    )
    list_filter = ("ticket_type", "priority", "calendar")
    fields = (
        "ticket_type",
        "priority",
        "calendar",
        "first_response",
        "next_response",
        "resolution",
        "resolution_ceiling",
    )

    def get_readonly_fields(self, request, obj=None):
        # A row is one type × priority for good; the migration creates all of them.
        return ("ticket_type", "priority") if obj is not None else ()
