from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from margin import services
from margin.models import (
    Instrument,
    LiquidationPlan,
    LiquidationPlanItem,
    MarginAccount,
    MarginCall,
    MarginContract,
    MarginEvent,
    Position,
    Restriction,
    RiskReport,
    VolatilityRegime,
)
from portal.admin import BoundedDateHierarchy


class ReadOnlyAdmin(admin.ModelAdmin):
    """Risk records are evidence: staff read them; only services write them."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Instrument)
class InstrumentAdmin(ReadOnlyAdmin):
    list_display = ("code", "name_zh", "name_en", "sector", "previous_close", "last_price")
    list_filter = ("is_st", "is_high_risk", "collateral_eligible", "sector")
    search_fields = ("code", "name_zh", "name_en")


class PositionInline(admin.TabularInline):
    model = Position
    extra = 0
    can_delete = False
    readonly_fields = ("instrument", "quantity", "cost")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MarginAccount)
class MarginAccountAdmin(ReadOnlyAdmin):
    list_display = ("number", "client", "current_level", "last_ratio", "debt", "cash")
    list_filter = ("current_level",)
    search_fields = ("number", "client__email")
    list_select_related = ("client",)
    inlines = [PositionInline]

    def get_urls(self):
        report = path(
            "stress/",
            self.admin_site.admin_view(self.stress_view),
            name="margin_marginaccount_stress",
        )
        return [report, *super().get_urls()]

    def stress_view(self, request) -> HttpResponse:
        """Every built-in stress scenario over the current book (risk and compliance)."""
        if not request.user.has_perm("margin.view_marginaccount"):
            raise PermissionDenied
        from margin import stress

        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Stress tests"),
            "reports": [stress.run(name) for name in stress.SCENARIOS],
        }
        return TemplateResponse(request, "admin/margin/stress.html", context)


@admin.register(MarginContract)
class MarginContractAdmin(ReadOnlyAdmin):
    list_display = ("number", "account", "status", "annual_rate", "starts_on", "rollover_on")
    list_filter = ("status",)


@admin.register(MarginEvent)
class MarginEventAdmin(BoundedDateHierarchy, ReadOnlyAdmin):
    list_display = ("occurred_at", "account", "sequence", "from_level", "to_level", "ratio")
    list_filter = ("to_level",)
    search_fields = ("account__number",)
    list_select_related = ("account",)
    date_hierarchy = "occurred_at"


@admin.register(MarginCall)
class MarginCallAdmin(ReadOnlyAdmin):
    list_display = ("issued_at", "account", "status", "deadline", "deposit_needed", "sell_needed")
    list_filter = ("status",)
    search_fields = ("account__number",)
    list_select_related = ("account",)


@admin.register(Restriction)
class RestrictionAdmin(ReadOnlyAdmin):
    list_display = ("account", "kind", "imposed_at", "lifted_at")
    list_filter = ("kind",)
    search_fields = ("account__number",)
    list_select_related = ("account",)


class PlanItemInline(admin.TabularInline):
    model = LiquidationPlanItem
    extra = 0
    can_delete = False
    readonly_fields = ("instrument", "quantity", "reference_price", "expected_proceeds")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class PlanDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            ("approve", gettext_lazy("Approve and execute")),
            ("reject", gettext_lazy("Reject")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=gettext_lazy("Reason (required to reject)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )


@admin.register(LiquidationPlan)
class LiquidationPlanAdmin(ReadOnlyAdmin):
    list_display = (
        "proposed_at",
        "account",
        "trigger",
        "status",
        "ratio_at_proposal",
        "expected_proceeds",
        "decide_link",
    )
    list_filter = ("status", "trigger")
    search_fields = ("account__number",)
    list_select_related = ("account",)
    inlines = [PlanItemInline]

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("margin.decide_liquidationplan")

    @admin.display(description=gettext_lazy("Decision"))
    def decide_link(self, plan: LiquidationPlan) -> str:
        if plan.status != LiquidationPlan.Status.PROPOSED:
            return "—"
        url = reverse("admin:margin_liquidationplan_decide", args=[plan.pk])
        return format_html('<a href="{}">{}</a>', url, _("Review"))

    def get_urls(self):
        decide = path(
            "<int:plan_id>/decide/",
            self.admin_site.admin_view(self.decide_view),
            name="margin_liquidationplan_decide",
        )
        return [decide, *super().get_urls()]

    def decide_view(self, request, plan_id: int) -> HttpResponse:
        if not self.has_decide_permission(request):
            raise PermissionDenied
        plan = get_object_or_404(
            LiquidationPlan.objects.select_related("account__client"), pk=plan_id
        )
        form = PlanDecisionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                if form.cleaned_data["decision"] == "approve":
                    services.liquidation_plan_approve(plan_id=plan.pk, officer=request.user)
                    messages.success(request, _("Plan approved; the sales are being executed."))
                else:
                    services.liquidation_plan_reject(
                        plan_id=plan.pk, officer=request.user, reason=form.cleaned_data["note"]
                    )
                    messages.success(request, _("Plan rejected; the reason is on record."))
                return redirect("admin:margin_liquidationplan_changelist")
            except services.PlanDecisionError as error:
                form.add_error(None, str(error))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Review liquidation plan"),
            "plan": plan,
            "items": plan.items.select_related("instrument"),
            "form": form,
        }
        return TemplateResponse(request, "admin/margin/liquidationplan/decide.html", context)


@admin.register(VolatilityRegime)
class VolatilityRegimeAdmin(ReadOnlyAdmin):
    list_display = ("proposed_at", "regime", "status", "market_volatility", "decided_by")
    list_filter = ("status", "regime")
    actions = ["confirm"]

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("margin.decide_volatilityregime")

    @admin.action(
        description=gettext_lazy("Confirm the selected proposal (applies at once)"),
        permissions=["decide"],
    )
    def confirm(self, request, queryset) -> None:
        for row in queryset.filter(status=VolatilityRegime.Status.PROPOSED):
            try:
                services.volatility_regime_decide(
                    regime_id=row.pk, officer=request.user, confirm=True
                )
            except services.PlanDecisionError as error:
                self.message_user(request, str(error), level=messages.ERROR)
                return
        self.message_user(request, _("Volatility regime confirmed."))


@admin.register(RiskReport)
class RiskReportAdmin(ReadOnlyAdmin):
    list_display = ("week_starts_on", "created_at", "sha256", "download_link")

    @admin.display(description=gettext_lazy("PDF"))
    def download_link(self, report: RiskReport) -> str:
        url = reverse("admin:margin_riskreport_download", args=[report.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download"))

    def get_urls(self):
        download = path(
            "<int:report_id>/download/",
            self.admin_site.admin_view(self.download_view),
            name="margin_riskreport_download",
        )
        return [download, *super().get_urls()]

    def download_view(self, request, report_id: int) -> FileResponse:
        # Served through the admin, not MEDIA_URL, so only staff with the permission get it.
        if not request.user.has_perm("margin.view_riskreport"):
            raise PermissionDenied
        report = get_object_or_404(RiskReport, pk=report_id)
        return FileResponse(report.pdf.open("rb"), content_type="application/pdf")
