"""Staff see orders, fills and their costs read-only; risk officers halt and lift trading (through
the services, so every halt is audited and its clients told) and read the refusals by reason."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from portal.admin_mixins import ActionWithReason, PortalModelAdmin
from trading import services
from trading.models import Fill, FillCost, Order, RefusalCount, TradingHalt
from trading.refusals import LABELS


class ReadOnlyAdmin(PortalModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class FillInline(admin.TabularInline):
    model = Fill
    extra = 0
    can_delete = False
    fields = ("quantity", "price", "value", "costs", "financed", "filled_at", "entry")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "account",
        "side",
        "instrument",
        "quantity",
        "limit_price",
        "filled_quantity",
        "status",
        "source",
        "submitted_at",
    )
    list_filter = ("status", "side", "source", "trading_day")
    search_fields = ("account__number", "instrument__code")
    list_select_related = ("account", "instrument")
    inlines = [FillInline]


@admin.register(Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = ("pk", "order", "quantity", "price", "value", "costs", "financed", "filled_at")
    list_filter = ("trading_day", "venue")
    list_select_related = ("order",)


@admin.register(FillCost)
class FillCostAdmin(ReadOnlyAdmin):
    list_display = ("fill", "code", "amount", "reference")


@admin.register(RefusalCount)
class RefusalCountAdmin(ReadOnlyAdmin):
    list_display = ("day", "check_label", "count")
    list_filter = ("day", "code")
    date_hierarchy = "day"

    @admin.display(description=_("check"), ordering="code")
    def check_label(self, obj: RefusalCount) -> str:
        return str(LABELS.get(obj.code, obj.code))


LIFT = ActionWithReason(
    name="lift",
    title=_("Lift trading halts"),
    intro=_(
        "Orders can be placed again in what these halts covered, and the clients concerned are "
        "told the reason below."
    ),
    label=_("Reason the clients will read"),
    help_text=_(
        "Sent to the clients concerned in the portal, as written: say what changed, e.g. "
        "“the company's announcement is out and the price has settled”."
    ),
    submit=_("Lift and tell the clients"),
    none_left=_("None of the selected halts is still in force."),
    back=_("Back to the trading halts"),
)


@admin.register(TradingHalt)
class TradingHaltAdmin(PortalModelAdmin):
    list_display = ("__str__", "reason", "imposed_by", "imposed_at", "lifted_at", "lift_reason")
    list_filter = ("lifted_at",)
    fields = ("instrument", "reason")
    autocomplete_fields = ()
    raw_id_fields = ("instrument",)
    actions = ["lift"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("trading.halt_trading")

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        halt = services.halt_impose(
            officer=request.user,
            reason=obj.reason,
            instrument_code=obj.instrument.code if obj.instrument else None,
        )
        obj.pk = halt.pk

    @admin.action(description=_("Lift the selected halts"), permissions=["halt"])
    def lift(self, request, queryset):
        """Asks first for the reason the clients will read, then lifts each selected halt."""

        def lift_each(halts, reason: str) -> None:
            for halt in halts:
                services.halt_lift(officer=request.user, halt_id=halt.pk, reason=reason)
            messages.success(request, _("Halts lifted; the clients concerned are told why."))

        standing = queryset.filter(lifted_at__isnull=True)
        return LIFT.ask_or_act(
            self, request, standing, lift_each, describe=lambda halt: f"{halt}: {halt.reason}"
        )

    def has_halt_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("trading.halt_trading")
