from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from margin import freeze, instruments, reports, selectors, services
from margin.instruments import sector_label
from margin.models import (
    AccountFreeze,
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
from portal import decisions, files
from portal.admin import BoundedDateHierarchy
from portal.admin_display import money_column, ratio_column
from portal.admin_mixins import PortalModelAdmin, ReadOnlyAdminMixin


class ReadOnlyAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    """Risk records are evidence: staff read them; only services write them."""


# Reasons and notes staff write for clients and the audit trail: long enough for a paragraph.
REASON_MAX_LENGTH = 1000


class InstrumentStatusForm(forms.Form):
    risk_warning = forms.ChoiceField(
        label=gettext_lazy("Risk warning"), choices=Instrument.RiskWarning.choices, required=False
    )
    suspension = forms.ChoiceField(
        label=gettext_lazy("Suspension"), choices=Instrument.Suspension.choices, required=False
    )
    is_high_risk = forms.BooleanField(
        label=gettext_lazy("High risk for another reason"), required=False
    )
    collateral_eligible = forms.BooleanField(
        label=gettext_lazy("Eligible as collateral"), required=False
    )
    note = forms.CharField(
        label=gettext_lazy("Why (for example the exchange's announcement)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=200,  # Instrument.status_note
    )


@admin.register(Instrument)
class InstrumentAdmin(ReadOnlyAdmin):
    list_display = (
        "code",
        "name_zh",
        "name_en",
        "sector_name",
        "risk_warning",
        "suspension",
        "collateral_eligible",
        "collateral_rate",
        "last_price",
        "status_link",
    )
    list_filter = ("risk_warning", "suspension", "is_high_risk", "collateral_eligible", "sector")
    search_fields = ("code", "name_zh", "name_en")

    @admin.display(description=gettext_lazy("sector"), ordering="sector")
    def sector_name(self, instrument: Instrument) -> str:
        return sector_label(instrument.sector)

    @admin.display(description=gettext_lazy("counts toward the ratio"))
    def collateral_rate(self, instrument: Instrument) -> str:
        return f"{selectors.collateral_rate_of(instrument) * 100:.0f}%"

    @admin.display(description=gettext_lazy("Status"))
    def status_link(self, instrument: Instrument) -> str:
        url = reverse("admin:margin_instrument_status", args=[instrument.pk])
        return format_html('<a href="{}">{}</a>', url, _("Change status"))

    def get_urls(self):
        status = path(
            "<int:instrument_id>/status/",
            self.admin_site.admin_view(self.status_view),
            name="margin_instrument_status",
        )
        return [status, *super().get_urls()]

    def status_view(self, request, instrument_id: int) -> HttpResponse:
        """A risk officer sets the instrument's risk status; holders are told (audited)."""
        if not request.user.has_perm("margin.change_instrument_status"):
            raise PermissionDenied
        instrument = get_object_or_404(Instrument, pk=instrument_id)
        initial = {
            "risk_warning": instrument.risk_warning,
            "suspension": instrument.suspension,
            "is_high_risk": instrument.is_high_risk,
            "collateral_eligible": instrument.collateral_eligible,
        }
        form = InstrumentStatusForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                instruments.instrument_status_change(
                    instrument_id=instrument.pk, officer=request.user, **form.cleaned_data
                )
            except instruments.InstrumentStatusError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Status saved; the holders are being told."))
                return redirect("admin:margin_instrument_changelist")
        return _form_page(
            self,
            request,
            title=_("Risk status of %(instrument)s") % {"instrument": instrument},
            form=form,
            intro=_(
                "High-risk securities count toward the ratio at the fee schedule's high-risk "
                "collateral rate, ineligible ones at 0. Every holder is told of the change."
            ),
        )


def _form_page(model_admin, request, *, title, form, intro="", rows=None) -> HttpResponse:
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "form": form,
        "intro": intro,
        "rows": rows or [],
    }
    return TemplateResponse(request, "admin/margin/form_page.html", context)


class PositionInline(admin.TabularInline):
    model = Position
    extra = 0
    can_delete = False
    readonly_fields = ("instrument", "quantity", "cost")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class FreezeRequestForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason (the client reads it)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=REASON_MAX_LENGTH,
    )


@admin.register(MarginAccount)
class MarginAccountAdmin(ReadOnlyAdmin):
    list_display = (
        "number",
        "client",
        "current_level",
        "ratio",
        "debt_yuan",
        "cash_yuan",
        "freeze_link",
    )
    ratio = ratio_column("last_ratio", gettext_lazy("maintenance ratio"))
    debt_yuan = money_column("debt", gettext_lazy("financing debt"))
    cash_yuan = money_column("cash", gettext_lazy("cash"))
    list_filter = ("current_level",)
    search_fields = ("number", "client__email")
    list_select_related = ("client",)
    inlines = [PositionInline]

    @admin.display(description=gettext_lazy("Freeze"))
    def freeze_link(self, account: MarginAccount) -> str:
        url = reverse("admin:margin_marginaccount_freeze", args=[account.pk])
        return format_html('<a href="{}">{}</a>', url, _("Request a freeze"))

    def get_urls(self):
        report = path(
            "stress/",
            self.admin_site.admin_view(self.stress_view),
            name="margin_marginaccount_stress",
        )
        freeze_request = path(
            "<int:account_id>/freeze/",
            self.admin_site.admin_view(self.freeze_view),
            name="margin_marginaccount_freeze",
        )
        return [report, freeze_request, *super().get_urls()]

    def freeze_view(self, request, account_id: int) -> HttpResponse:
        """A risk officer asks for an emergency freeze; a second officer approves it."""
        if not request.user.has_perm("margin.decide_accountfreeze"):
            raise PermissionDenied
        account = get_object_or_404(MarginAccount.objects.select_related("client"), pk=account_id)
        form = FreezeRequestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                freeze.account_freeze_request(
                    account_id=account.pk, officer=request.user, reason=form.cleaned_data["reason"]
                )
            except freeze.FreezeError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request, _("Freeze requested; a second risk officer must approve it.")
                )
                return redirect("admin:margin_accountfreeze_changelist")
        return _form_page(
            self,
            request,
            title=_("Freeze account %(account)s") % {"account": account},
            form=form,
            intro=_(
                "No new financing, no purchases and no withdrawals; selling stays allowed. "
                "It takes effect when a second risk officer approves it, and the client is "
                "told the reason and how to have it lifted."
            ),
        )

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
    list_display = ("number", "account", "status", "rate", "starts_on", "rollover_on")
    rate = ratio_column("annual_rate", gettext_lazy("annual financing rate"))
    list_filter = ("status",)


@admin.register(MarginEvent)
class MarginEventAdmin(BoundedDateHierarchy, ReadOnlyAdmin):
    list_display = ("occurred_at", "account", "sequence", "from_level", "to_level", "ratio_shown")
    ratio_shown = ratio_column("ratio", gettext_lazy("maintenance ratio"))
    list_filter = ("to_level",)
    search_fields = ("account__number",)
    list_select_related = ("account",)
    date_hierarchy = "occurred_at"


@admin.register(MarginCall)
class MarginCallAdmin(ReadOnlyAdmin):
    list_display = ("issued_at", "account", "status", "deadline", "deposit", "sell")
    deposit = money_column("deposit_needed", gettext_lazy("deposit needed"))
    sell = money_column("sell_needed", gettext_lazy("sales needed"))
    list_filter = ("status",)
    search_fields = ("account__number",)
    list_select_related = ("account",)


class ActiveFilter(admin.SimpleListFilter):
    title = gettext_lazy("in force")
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("yes", _("In force")), ("no", _("Lifted"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(lifted_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(lifted_at__isnull=False)
        return queryset


class LiftForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why it is lifted (the client reads it)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=REASON_MAX_LENGTH,
    )


@admin.register(Restriction)
class RestrictionAdmin(ReadOnlyAdmin):
    """Every restriction; filter "Kind: no more purchases of one security" and "in force" for
    the accounts over the concentration limit now."""

    list_display = ("account", "kind", "instrument", "why", "imposed_at", "lifted_at", "lift")
    list_filter = ("kind", ActiveFilter)
    search_fields = ("account__number", "instrument__code")
    list_select_related = ("account", "instrument")
    exclude = ("reason_code", "reason_params", "reason")
    readonly_fields = ("why",)

    @admin.display(description=gettext_lazy("reason"))
    def why(self, restriction: Restriction) -> str:
        return restriction.reason_text()

    @admin.display(description=gettext_lazy("Lift"))
    def lift(self, restriction: Restriction) -> str:
        if restriction.kind != Restriction.Kind.FROZEN or not restriction.is_active:
            return "—"
        url = reverse("admin:margin_restriction_lift", args=[restriction.pk])
        return format_html('<a href="{}">{}</a>', url, _("Lift the freeze"))

    def get_urls(self):
        lift = path(
            "<int:restriction_id>/lift/",
            self.admin_site.admin_view(self.lift_view),
            name="margin_restriction_lift",
        )
        return [lift, *super().get_urls()]

    def lift_view(self, request, restriction_id: int) -> HttpResponse:
        if not request.user.has_perm("margin.decide_accountfreeze"):
            raise PermissionDenied
        restriction = get_object_or_404(Restriction, pk=restriction_id)
        form = LiftForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                freeze.account_freeze_lift(
                    restriction_id=restriction.pk,
                    officer=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except freeze.FreezeError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Freeze lifted; the client is told."))
                return redirect("admin:margin_restriction_changelist")
        return _form_page(
            self,
            request,
            title=_("Lift the freeze of %(account)s") % {"account": restriction.account},
            form=form,
        )


class _ConsistentDecision(forms.Form):
    """An approval whose note refuses is the wrong button: refused (portal.decisions)."""

    def clean(self):
        data = super().clean()
        try:
            decisions.require_consistent_approval(
                approve=data.get("decision") == "approve", reason=data.get("note", "")
            )
        except ValidationError as error:
            self.add_error("note", error)
        return data


class FreezeDecisionForm(_ConsistentDecision):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            ("approve", gettext_lazy("Approve: freeze the account now")),
            ("reject", gettext_lazy("Reject")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=gettext_lazy("Note (required to reject)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=REASON_MAX_LENGTH,
    )


@admin.register(AccountFreeze)
class AccountFreezeAdmin(ReadOnlyAdmin):
    list_display = (
        "requested_at",
        "account",
        "status",
        "reason",
        "requested_by",
        "decided_by",
        "decide_link",
    )
    list_filter = ("status",)
    search_fields = ("account__number",)
    list_select_related = ("account", "requested_by", "decided_by")

    @admin.display(description=gettext_lazy("Decision"))
    def decide_link(self, row: AccountFreeze) -> str:
        if row.status != AccountFreeze.Status.PROPOSED:
            return "—"
        url = reverse("admin:margin_accountfreeze_decide", args=[row.pk])
        return format_html('<a href="{}">{}</a>', url, _("Review"))

    def get_urls(self):
        decide = path(
            "<int:freeze_id>/decide/",
            self.admin_site.admin_view(self.decide_view),
            name="margin_accountfreeze_decide",
        )
        return [decide, *super().get_urls()]

    def decide_view(self, request, freeze_id: int) -> HttpResponse:
        if not request.user.has_perm("margin.decide_accountfreeze"):
            raise PermissionDenied
        row = get_object_or_404(AccountFreeze.objects.select_related("account"), pk=freeze_id)
        form = FreezeDecisionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                freeze.account_freeze_decide(
                    freeze_id=row.pk,
                    officer=request.user,
                    approve=form.cleaned_data["decision"] == "approve",
                    note=form.cleaned_data["note"],
                )
            except freeze.FreezeError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Decision recorded."))
                return redirect("admin:margin_accountfreeze_changelist")
        return _form_page(
            self,
            request,
            title=_("Freeze of %(account)s") % {"account": row.account},
            form=form,
            intro=_("Requested by %(officer)s: %(reason)s")
            % {"officer": row.requested_by, "reason": row.reason},
        )


class PlanItemInline(admin.TabularInline):
    model = LiquidationPlanItem
    extra = 0
    can_delete = False
    readonly_fields = ("instrument", "quantity", "reference_price", "expected_proceeds")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class PlanDecisionForm(_ConsistentDecision):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            (
                "approve",
                gettext_lazy("Approve (a second risk officer confirms the execution)"),
            ),
            ("reject", gettext_lazy("Reject")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=gettext_lazy("Reason (required)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
    )


class PlanExecutionForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy(
            "I have checked the sales and figures above and confirm that they are to be "
            "executed now."
        ),
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
        if plan.status == LiquidationPlan.Status.PROPOSED:
            url = reverse("admin:margin_liquidationplan_decide", args=[plan.pk])
            return format_html('<a href="{}">{}</a>', url, _("Review"))
        if plan.status == LiquidationPlan.Status.APPROVED and plan.execution_confirmed_at is None:
            url = reverse("admin:margin_liquidationplan_execute", args=[plan.pk])
            return format_html('<a href="{}">{}</a>', url, _("Confirm execution"))
        return "—"

    def get_urls(self):
        decide = path(
            "<int:plan_id>/decide/",
            self.admin_site.admin_view(self.decide_view),
            name="margin_liquidationplan_decide",
        )
        execute = path(
            "<int:plan_id>/execute/",
            self.admin_site.admin_view(self.execute_view),
            name="margin_liquidationplan_execute",
        )
        return [decide, execute, *super().get_urls()]

    def execute_view(self, request, plan_id: int) -> HttpResponse:
        """A second risk officer reads the approved plan's figures and confirms its execution."""
        if not self.has_decide_permission(request):
            raise PermissionDenied
        plan = get_object_or_404(
            LiquidationPlan.objects.select_related("account__client", "decided_by"), pk=plan_id
        )
        form = PlanExecutionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.liquidation_plan_confirm_execution(plan_id=plan.pk, officer=request.user)
            except services.PlanDecisionError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Execution confirmed; the sales are being executed."))
                return redirect("admin:margin_liquidationplan_changelist")
        refusal = ""
        if request.method != "POST" and plan.decided_by_id == request.user.pk:
            refusal = _(
                "Four-eyes rule: you approved this plan, so another risk officer must confirm "
                "its execution."
            )
        context = {
            "refusal": refusal,
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Confirm the execution of a liquidation plan"),
            "plan": plan,
            "form": form,
        }
        return TemplateResponse(request, "admin/margin/liquidationplan/execute.html", context)

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
                    services.liquidation_plan_approve(
                        plan_id=plan.pk, officer=request.user, reason=form.cleaned_data["note"]
                    )
                    messages.success(
                        request,
                        _("Plan approved; another risk officer must now confirm its execution."),
                    )
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


class RegimeRequestForm(forms.Form):
    regime = forms.ChoiceField(
        label=gettext_lazy("Regime"), choices=VolatilityRegime.Regime.choices
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason (clients read it)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=REASON_MAX_LENGTH,
    )


class RegimeDecisionForm(_ConsistentDecision):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            ("approve", gettext_lazy("Confirm: in force at once for new business")),
            ("reject", gettext_lazy("Reject the proposal")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=gettext_lazy("Reason (required to reject)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=REASON_MAX_LENGTH,
    )


@admin.register(VolatilityRegime)
class VolatilityRegimeAdmin(ReadOnlyAdmin):
    list_display = (
        "proposed_at",
        "regime",
        "status",
        "market_volatility",
        "proposed_by",
        "decided_by",
        "reason",
        "decide_link",
    )
    list_filter = ("status", "regime")
    actions = ["confirm"]

    @admin.display(description=gettext_lazy("Decision"))
    def decide_link(self, row: VolatilityRegime) -> str:
        if row.status != VolatilityRegime.Status.PROPOSED:
            return row.decision_note or "—"
        url = reverse("admin:margin_volatilityregime_decide", args=[row.pk])
        return format_html('<a href="{}">{}</a>', url, _("Confirm or reject"))

    def get_urls(self):
        propose = path(
            "propose/",
            self.admin_site.admin_view(self.propose_view),
            name="margin_volatilityregime_propose",
        )
        decide = path(
            "<int:regime_id>/decide/",
            self.admin_site.admin_view(self.decide_view),
            name="margin_volatilityregime_decide",
        )
        return [propose, decide, *super().get_urls()]

    def decide_view(self, request, regime_id: int) -> HttpResponse:
        """A second risk officer confirms the proposal or rejects it, saying why."""
        if not self.has_decide_permission(request):
            raise PermissionDenied
        row = get_object_or_404(
            VolatilityRegime.objects.select_related("proposed_by"), pk=regime_id
        )
        form = RegimeDecisionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            confirm = form.cleaned_data["decision"] == "approve"
            try:
                services.volatility_regime_decide(
                    regime_id=row.pk,
                    officer=request.user,
                    confirm=confirm,
                    note=form.cleaned_data["note"],
                )
            except services.PlanDecisionError as error:
                form.add_error(None, str(error))
            else:
                done = _("Volatility regime confirmed.") if confirm else _("Proposal rejected.")
                messages.success(request, done)
                return redirect("admin:margin_volatilityregime_changelist")
        return _form_page(
            self,
            request,
            title=_("Decide the %(regime)s proposal") % {"regime": row.get_regime_display()},
            form=form,
            intro=_("Proposed by %(officer)s: %(reason)s")
            % {"officer": row.proposed_by or _("the risk engine"), "reason": row.reason},
        )

    def propose_view(self, request) -> HttpResponse:
        """A risk officer proposes a regime, the emergency freeze line included; another
        officer confirms it from the list."""
        if not request.user.has_perm("margin.decide_volatilityregime"):
            raise PermissionDenied
        form = RegimeRequestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                freeze.volatility_regime_request(officer=request.user, **form.cleaned_data)
            except freeze.FreezeError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Proposed; a second risk officer must confirm it."))
                return redirect("admin:margin_volatilityregime_changelist")
        return _form_page(
            self,
            request,
            title=_("Propose a volatility regime"),
            form=form,
            intro=_(
                "The emergency level is the platform-wide freeze line: no new financing and no "
                "purchases for any account; selling stays allowed, and withdrawals within the "
                "usual limits."
            ),
        )

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
    change_list_template = "admin/margin/riskreport/change_list.html"

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
        produce = path(
            "produce/",
            self.admin_site.admin_view(self.produce_view),
            name="margin_riskreport_produce",
        )
        return [download, produce, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "last_week": reports.last_week_start()}
        return super().changelist_view(request, extra_context)

    @method_decorator(require_POST)
    def produce_view(self, request) -> HttpResponse:
        """Last week's report now, if the weekly run has not made it yet (the same file)."""
        if not request.user.has_perm("margin.view_riskreport"):
            raise PermissionDenied
        report = reports.risk_report_weekly(week_starts_on=reports.last_week_start())
        messages.success(
            request,
            _("The report for the week of %(week)s is ready.") % {"week": report.week_starts_on},
        )
        return redirect("admin:margin_riskreport_changelist")

    def download_view(self, request, report_id: int) -> HttpResponse:
        # Served through the admin, not MEDIA_URL, so only staff with the permission get it.
        report = get_object_or_404(RiskReport, pk=report_id)
        return files.serve(
            request,
            owner_id=None,
            staff_permission="margin.view_riskreport",
            open_file=lambda: report.pdf.open("rb"),
            filename=f"wangrun-risk-report-{report.week_starts_on}.pdf",
            content_type="application/pdf",
            inline=True,
        )
