"""Staff views of client money: read-only ledger; withdrawals and suspense worked by actions."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from funds import services, suspense
from funds.models import (
    BankAccount,
    Charge,
    CustodianStatement,
    CustodianTransaction,
    JournalEntry,
    LedgerAccount,
    LedgerLine,
    ReconciliationBreak,
    WithdrawalRequest,
)
from portal.admin_display import money_column, ratio_column, yuan_text
from portal.admin_mixins import ActionWithReason, PortalModelAdmin, ReadOnlyAdminMixin


class ReadOnlyAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    """The ledger is evidence: staff read it; only services write it."""


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ("code", "kind", "margin_account", "balance")
    list_filter = ("kind",)
    search_fields = ("code",)

    @admin.display(description=gettext_lazy("balance"))
    def balance(self, obj: LedgerAccount):
        from funds import ledger

        return yuan_text(ledger.balance(obj))


class LedgerLineInline(admin.TabularInline):
    model = LedgerLine
    extra = 0
    can_delete = False
    readonly_fields = ("account", "amount")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ("number", "value_date", "kind", "description", "posted_at", "reverses")

    @admin.display(description="#", ordering="pk")
    def number(self, obj: JournalEntry) -> str:
        return f"#{obj.pk}"

    list_filter = ("kind", "value_date")
    search_fields = ("description", "idempotency_key")
    inlines = [LedgerLineInline]


@admin.register(Charge)
class ChargeAdmin(ReadOnlyAdmin):
    list_display = ("day", "margin_account", "kind", "basis", "rate", "amount_yuan")
    basis = money_column("basis_amount", gettext_lazy("basis amount"))
    rate = ratio_column("annual_rate", gettext_lazy("annual rate"))
    amount_yuan = money_column("amount", gettext_lazy("amount"))
    list_filter = ("kind", "day")
    search_fields = ("margin_account__number",)


@admin.register(BankAccount)
class BankAccountAdmin(ReadOnlyAdmin):
    list_display = ("client", "bank_name", "number", "holder_name", "verified_at")

    @admin.display(description=gettext_lazy("account number"))
    def number(self, obj: BankAccount) -> str:
        return obj.masked_number

    search_fields = ("client__email", "holder_name")
    exclude = ("account_number",)


REJECT = ActionWithReason(
    name="reject",
    title=gettext_lazy("Reject withdrawals"),
    intro=gettext_lazy(
        "The money held for each of these returns to the client's cash, and the client is told "
        "the reason below."
    ),
    label=gettext_lazy("Reason the client will read"),
    help_text=gettext_lazy(
        "Sent to the client by email, SMS and in the portal, as written: say what they can "
        "do, e.g. “the bank account is not in your name; add your own account and ask again”."
    ),
    submit=gettext_lazy("Reject and tell the client"),
    none_left=gettext_lazy("None of the selected withdrawals is waiting for approval."),
    back=gettext_lazy("Back to the withdrawals"),
)


@admin.register(WithdrawalRequest)
class WithdrawalRequestAdmin(ReadOnlyAdmin):
    list_display = (
        "requested_at",
        "margin_account",
        "amount_yuan",
        "status",
        "decided_by",
        "reason",
    )
    amount_yuan = money_column("amount", gettext_lazy("amount"))
    list_filter = ("status",)
    actions = ["approve", "reject"]

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("funds.approve_withdrawalrequest")

    @admin.action(
        description=gettext_lazy("Approve (two different staff members are needed)"),
        permissions=["approve"],
    )
    def approve(self, request, queryset):
        for withdrawal in queryset:
            try:
                result = services.withdrawal_approve(
                    withdrawal_id=withdrawal.pk, staff=request.user
                )
            except services.ApprovalError as exc:
                self.message_user(request, f"{withdrawal}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{result}", messages.SUCCESS)

    @admin.action(
        description=gettext_lazy("Reject (the money returns to the client's cash)"),
        permissions=["approve"],
    )
    def reject(self, request, queryset):
        """Asks first for the reason the client will read, then rejects each selected one."""

        def reject_each(withdrawals, reason: str) -> None:
            for withdrawal in withdrawals:
                try:
                    services.withdrawal_reject(
                        withdrawal_id=withdrawal.pk, staff=request.user, reason=reason
                    )
                except services.ApprovalError as exc:
                    self.message_user(request, f"{withdrawal}: {exc}", messages.ERROR)
                else:
                    self.message_user(
                        request,
                        _("%(withdrawal)s rejected; the client is told why.")
                        % {"withdrawal": withdrawal},
                        messages.SUCCESS,
                    )

        waiting = queryset.filter(status=WithdrawalRequest.Status.AWAITING_APPROVAL)
        return REJECT.ask_or_act(self, request, waiting, reject_each)


@admin.register(CustodianStatement)
class CustodianStatementAdmin(ReadOnlyAdmin):
    list_display = ("statement_date", "opening", "closing", "imported_at")
    opening = money_column("opening_balance", gettext_lazy("opening balance"))
    closing = money_column("closing_balance", gettext_lazy("closing balance"))


@admin.register(CustodianTransaction)
class CustodianTransactionAdmin(PortalModelAdmin):
    """Agents work money in suspense: choose the client it belongs to, confirm against the
    client's verified name, and a second person approves when the payer's name does not match
    (funds.suspense). Agents see the suspense lines only, not the whole bank statement."""

    list_display = (
        "value_date",
        "bank_reference",
        "direction",
        "amount_yuan",
        "counterparty_name",
        "memo",
        "match",
        "margin_account",
        "credit_requested_by",
        "payer_name_matched",
    )
    list_filter = ("match", "direction")
    amount_yuan = money_column("amount", gettext_lazy("amount"))
    search_fields = ("bank_reference", "counterparty_name", "memo")
    fields = (
        "bank_reference",
        "value_date",
        "direction",
        "amount",
        "counterparty_name",
        "counterparty_account",
        "memo",
        "match",
        "margin_account",
        "credit_requested_by",
        "credit_requested_at",
        "payer_name_matched",
        "credit_approved_by",
    )
    autocomplete_fields = ()
    raw_id_fields = ("margin_account",)
    actions = ["credit_chosen_client", "approve_credit", "cancel_credit"]
    change_form_template = "admin/funds/custodiantransaction/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        txn = self.get_object(request, object_id)
        suggestions = []
        if txn is not None and txn.match == CustodianTransaction.Match.SUSPENSE:
            suggestions = suspense.suspense_suggestions(txn)
        extra_context = {**(extra_context or {}), "suggestions": suggestions}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("margin_account")
        if not request.user.has_perm("funds.view_journalentry"):
            queryset = queryset.filter(match=CustodianTransaction.Match.SUSPENSE)
        return queryset

    def get_readonly_fields(self, request, obj=None):
        readonly = [f for f in self.fields if f != "margin_account"]
        if (
            obj is None
            or obj.match != CustodianTransaction.Match.SUSPENSE
            or obj.credit_requested_at is not None
        ):
            readonly.append("margin_account")
        return readonly

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_approve_credit_permission(self, request) -> bool:
        return request.user.has_perm("funds.approve_suspense_credit")

    @admin.action(
        description=gettext_lazy("Credit the chosen client with money in suspense"),
        permissions=["change"],
    )
    def credit_chosen_client(self, request, queryset):
        chosen = []
        for txn in queryset:
            if txn.margin_account_id is None:
                self.message_user(
                    request, _("%(ref)s: choose the client first.") % {"ref": txn.bank_reference},
                    messages.ERROR,
                )  # fmt: skip
            else:
                chosen.append(txn)
        if not chosen:
            return None
        if request.POST.get("confirm") != "yes":
            # Nothing moves before the agent has seen the payer beside the verified name.
            previews = [
                suspense.suspense_credit_preview(
                    transaction_id=txn.pk,
                    margin_account_id=txn.margin_account_id,
                    agent=request.user,
                )
                for txn in chosen
            ]
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Confirm crediting money in suspense"),
                "previews": previews,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(
                request, "admin/funds/custodiantransaction/confirm_credit.html", context
            )
        for txn in chosen:
            try:
                done = suspense.suspense_credit_request(
                    transaction_id=txn.pk,
                    margin_account_id=txn.margin_account_id,
                    agent=request.user,
                )
            except (suspense.SuspenseCreditError, PermissionDenied) as exc:
                self.message_user(request, f"{txn.bank_reference}: {exc}", messages.ERROR)
                continue
            if done.match == CustodianTransaction.Match.RESOLVED:
                text = _("%(ref)s: credited to %(account)s.")
            else:
                text = _(
                    "%(ref)s: the payer's name does not match; the credit to %(account)s waits "
                    "for a second person's approval."
                )
            self.message_user(
                request,
                text % {"ref": txn.bank_reference, "account": txn.margin_account},
                messages.SUCCESS,
            )
        return None

    @admin.action(
        description=gettext_lazy("Approve the waiting credit (second person)"),
        permissions=["approve_credit"],
    )
    def approve_credit(self, request, queryset):
        for txn in queryset:
            try:
                suspense.suspense_credit_approve(transaction_id=txn.pk, approver=request.user)
            except (suspense.SuspenseCreditError, PermissionDenied) as exc:
                self.message_user(request, f"{txn.bank_reference}: {exc}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(ref)s: credited.") % {"ref": txn.bank_reference},
                    messages.SUCCESS,
                )

    @admin.action(
        description=gettext_lazy("Cancel the waiting credit"),
        permissions=["change", "approve_credit"],
    )
    def cancel_credit(self, request, queryset):
        for txn in queryset:
            try:
                suspense.suspense_credit_cancel(transaction_id=txn.pk, staff=request.user)
            except (suspense.SuspenseCreditError, PermissionDenied) as exc:
                self.message_user(request, f"{txn.bank_reference}: {exc}", messages.ERROR)


@admin.register(ReconciliationBreak)
class ReconciliationBreakAdmin(ReadOnlyAdmin):
    list_display = (
        "kind",
        "subject",
        "expected",
        "actual",
        "difference",
        "first_seen_on",
        "age",
        "resolved_on",
    )
    list_filter = ("kind", ("resolved_on", admin.EmptyFieldListFilter))

    @admin.display(description=gettext_lazy("difference"))
    def difference(self, obj: ReconciliationBreak):
        return obj.difference

    @admin.display(description=gettext_lazy("age (days)"))
    def age(self, obj: ReconciliationBreak):
        return obj.age_days()
