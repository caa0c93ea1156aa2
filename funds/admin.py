"""Staff views of client money: read-only ledger; withdrawals and suspense worked by actions."""

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from funds import services
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


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger is evidence: staff read it; only services write it."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ("code", "kind", "margin_account", "balance")
    list_filter = ("kind",)
    search_fields = ("code",)

    @admin.display(description=gettext_lazy("balance"))
    def balance(self, obj: LedgerAccount):
        from funds import ledger

        return ledger.balance(obj)


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
    list_display = ("pk", "value_date", "kind", "description", "posted_at", "reverses")
    list_filter = ("kind", "value_date")
    search_fields = ("description", "idempotency_key")
    inlines = [LedgerLineInline]


@admin.register(Charge)
class ChargeAdmin(ReadOnlyAdmin):
    list_display = ("day", "margin_account", "kind", "basis_amount", "annual_rate", "amount")
    list_display += ("reference",)
    list_filter = ("kind", "day")
    search_fields = ("margin_account__number",)


@admin.register(BankAccount)
class BankAccountAdmin(ReadOnlyAdmin):
    list_display = ("client", "bank_name", "masked_number", "holder_name", "verified_at")
    search_fields = ("client__email", "holder_name")
    exclude = ("account_number",)


@admin.register(WithdrawalRequest)
class WithdrawalRequestAdmin(ReadOnlyAdmin):
    list_display = ("requested_at", "margin_account", "amount", "status", "decided_by", "reason")
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
        for withdrawal in queryset:
            try:
                services.withdrawal_reject(
                    withdrawal_id=withdrawal.pk,
                    staff=request.user,
                    reason=_("Rejected by %(who)s in the admin") % {"who": request.user},
                )
            except services.ApprovalError as exc:
                self.message_user(request, f"{withdrawal}: {exc}", messages.ERROR)


@admin.register(CustodianStatement)
class CustodianStatementAdmin(ReadOnlyAdmin):
    list_display = ("statement_date", "opening_balance", "closing_balance", "imported_at")


@admin.register(CustodianTransaction)
class CustodianTransactionAdmin(admin.ModelAdmin):
    """Agents work money in suspense: choose the client it belongs to, then credit it."""

    list_display = (
        "value_date",
        "bank_reference",
        "direction",
        "amount",
        "counterparty_name",
        "memo",
        "match",
        "margin_account",
    )
    list_filter = ("match", "direction")
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
    )
    autocomplete_fields = ()
    raw_id_fields = ("margin_account",)
    actions = ["credit_chosen_client"]

    def get_readonly_fields(self, request, obj=None):
        readonly = [f for f in self.fields if f != "margin_account"]
        if obj is None or obj.match != CustodianTransaction.Match.SUSPENSE:
            readonly.append("margin_account")
        return readonly

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(
        description=gettext_lazy("Credit the chosen client with money in suspense"),
        permissions=["change"],
    )
    def credit_chosen_client(self, request, queryset):
        for txn in queryset:
            if txn.margin_account_id is None:
                self.message_user(
                    request, _("%(ref)s: choose the client first.") % {"ref": txn.bank_reference},
                    messages.ERROR,
                )  # fmt: skip
                continue
            try:
                services.suspense_resolve(
                    transaction_id=txn.pk,
                    margin_account_id=txn.margin_account_id,
                    agent=request.user,
                )
            except ValueError as exc:
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
