"""Bank accounts and withdrawals: the withdrawal line, the fee, requests, approval and payment."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from accounts.security_alerts import security_alert
from disclosures.selectors import citation as disclosures_citation
from funds import ledger
from funds.amounts import FEN, ZERO, _yuan
from funds.ledger import Kind
from funds.models import (
    BankAccount,
    JournalEntry,
    WithdrawalRequest,
)
from funds.workflows import WITHDRAWAL
from margin.models import MarginAccount, MarginCall
from notices import services as notices
from portal import inputs, money
from portal.refusals import Refused

# Crediting money in suspense to a client: funds.suspense.


# --- bank accounts and withdrawals ----------------------------------------------------------------


class BankAccountError(Refused, ValueError):
    """A bank account that cannot be used; the message is shown to the client."""

    def __init__(self, message: Any, code: str = "funds.bank_account") -> None:
        super().__init__(code, message)


def _normalise_name(name: str) -> str:
    return "".join(inputs.nfkc(name).split()).casefold()


@transaction.atomic
def bank_account_add(
    *, client: Any, bank_name: str, account_number: str, holder_name: str
) -> BankAccount:
    """Add a payout account; it is verified only if held in the client's KYC-verified legal name."""
    from accounts import selectors as accounts

    account_number = inputs.digits_only(account_number)
    if not (account_number.isascii() and account_number.isdigit()) or not (
        8 <= len(account_number) <= 30
    ):
        raise BankAccountError(_("Enter the account number as 8 to 30 digits."))
    case = accounts.kyc_case(client)
    if not accounts.kyc_valid(client) or case is None:
        raise BankAccountError(_("Your identity must be verified before you add a bank account."))
    if _normalise_name(holder_name) != _normalise_name(case.legal_name):
        raise BankAccountError(
            _("The account must be in your own name, as verified: %(name)s.")
            % {"name": case.legal_name}
        )
    if BankAccount.objects.filter(client=client, account_number=account_number).exists():
        raise BankAccountError(_("You have already added this account."))
    bank = BankAccount.objects.create(
        client=client,
        bank_name=bank_name.strip(),
        account_number=account_number,
        holder_name=case.legal_name,
        verified_at=timezone.now(),
    )
    audit.record(
        actor=client, action="funds.bank_account_added", obj=bank, data={"bank": bank_name}
    )
    # Where money can go is a security matter: the client hears of it on every channel at once,
    # so a taken-over session cannot quietly add a payout account.
    security_alert(user=client, event="bank_account_added", key=str(bank.pk))
    return bank


@dataclass(frozen=True)
class WithdrawalLimit:
    largest: Decimal
    reason: str  # why nothing (or not more) may be withdrawn; empty when only the line limits it
    fee: Decimal = ZERO  # the withdrawal fee charged on top of the amount
    fee_reference: str = ""  # the fee schedule version and item that set it


@dataclass(frozen=True)
class WithdrawalFee:
    amount: Decimal
    quote: Any  # disclosures FeeQuote, None when the schedule in force has no withdrawal fee

    @property
    def reference(self) -> str:
        return self.quote.reference if self.quote is not None else ""

    @property
    def citation(self) -> str:
        """The fee schedule version and item for the client, in the active language."""
        return self.quote.citation if self.quote is not None else ""


WITHDRAWAL_FEE_CODE = "withdrawal_fee"


def withdrawal_fee() -> WithdrawalFee:
    """The fixed withdrawal fee (yuan per withdrawal) of the fee schedule in force; 0 is none."""
    from disclosures.selectors import FeeItemNotFound, fee_item_in_force

    try:
        quote = fee_item_in_force(WITHDRAWAL_FEE_CODE)
    except FeeItemNotFound:
        return WithdrawalFee(ZERO, None)
    amount = money.round_fen(quote.value)
    if amount <= 0:
        return WithdrawalFee(ZERO, None)
    return WithdrawalFee(amount, quote)


def withdrawal_limit(margin_account: MarginAccount) -> WithdrawalLimit:
    """The most the client may withdraw now, and what stops them taking more."""
    from accounts import selectors as accounts
    from margin import selectors as margin
    from margin.restrictions import account_permissions

    if not accounts.kyc_valid(margin_account.client):
        return WithdrawalLimit(ZERO, _("Your identity verification (KYC) is not valid."))
    if MarginCall.objects.filter(account=margin_account, status=MarginCall.Status.OPEN).exists():
        return WithdrawalLimit(ZERO, _("A margin call is open on this account."))
    # A freeze (the account's or the platform's) or a margin call's restriction stops
    # withdrawals; a concentration restriction only stops purchases of one security.
    permissions = account_permissions(margin_account)
    if not permissions.may_withdraw:
        return WithdrawalLimit(ZERO, permissions.reason)
    fee = withdrawal_fee()
    withdrawable = margin.withdrawable_cash(margin_account)
    # The fee leaves the cash too, so the amount plus the fee must fit under the limit.
    largest = max(ZERO, withdrawable - fee.amount)
    if withdrawable < margin_account.cash:
        line = margin_account.lines.withdrawal * 100
        return WithdrawalLimit(
            largest,
            _("The maintenance ratio must stay at or above the withdrawal line (%(line)s%%).")
            % {"line": f"{line:.0f}"},
            fee.amount,
            fee.citation,
        )
    return WithdrawalLimit(largest, "", fee.amount, fee.citation)


def _threshold() -> Decimal:
    return Decimal(settings.FUNDS_WITHDRAWAL_APPROVAL_THRESHOLD)


@transaction.atomic
def withdrawal_request(
    *,
    client: Any,
    margin_account_id: int,
    bank_account_id: int,
    amount: Decimal,
    idempotency_key: str | None = None,
) -> WithdrawalRequest:
    """Ask to withdraw; refused (recorded, with the reason and the largest amount) or accepted.

    Accepted money leaves the client's cash at once for "withdrawals payable"; up to the threshold
    it is paid out at once, above it two staff members must approve (four-eyes).
    """
    margin_account = _lock_own_account(client, margin_account_id)
    if idempotency_key:
        # Checked under the account's row lock: a concurrent replay waits, then finds this one.
        earlier = WithdrawalRequest.objects.filter(
            margin_account=margin_account, idempotency_key=idempotency_key
        ).first()
        if earlier is not None:
            return earlier
    bank = BankAccount.objects.filter(pk=bank_account_id, client=client).first()
    limit = withdrawal_limit(margin_account)
    request = WithdrawalRequest(
        margin_account=margin_account,
        bank_account=bank,
        amount=amount.quantize(FEN) if amount == amount else ZERO,
        largest_allowed=limit.largest,
        idempotency_key=idempotency_key or None,
    )
    reason = _refusal_reason(bank, amount, limit)
    if reason:
        return _refuse(request, reason, client)
    _hold(request, amount, client)
    if amount + _accepted_today(margin_account, excluding=request) > _threshold():
        _withdrawal_notice(request, "funds_withdrawal_pending")
        return request
    return _pay(request, actor=client)


def _lock_own_account(client: Any, margin_account_id: int) -> MarginAccount:
    """The client's own margin account, locked; anyone else's does not exist."""
    margin_account = (
        MarginAccount.objects.select_for_update(of=("self",))
        .select_related("client")
        .get(pk=margin_account_id)
    )
    if margin_account.client_id != client.pk:
        raise MarginAccount.DoesNotExist
    return margin_account


def _refusal_reason(bank: BankAccount | None, amount: Decimal, limit: WithdrawalLimit) -> str:
    """Why this withdrawal cannot be accepted, or "" when it can."""
    if bank is None or bank.verified_at is None:
        return _("Withdrawals go only to a verified bank account in your own name.")
    if amount <= 0 or amount != amount.quantize(FEN):
        return _("Enter an amount above zero, in yuan and fen.")
    if amount > limit.largest:
        return limit.reason or _("That is more than the cash available.")
    return ""


def _refuse(request: WithdrawalRequest, reason: str, client: Any) -> WithdrawalRequest:
    request.reason = reason
    WITHDRAWAL.move(request, WithdrawalRequest.Status.REFUSED)
    request.save()
    _withdrawal_audit(request, client, "funds.withdrawal_refused")
    _withdrawal_notice(request, "funds_withdrawal_refused")
    return request


def _hold(request: WithdrawalRequest, amount: Decimal, client: Any) -> None:
    """Accept the request: the amount and its fee leave the client's cash together for
    "withdrawals payable"; the fee is charged when paid."""
    margin_account, bank = request.margin_account, request.bank_account
    fee = withdrawal_fee()
    WITHDRAWAL.move(request, WithdrawalRequest.Status.AWAITING_APPROVAL)
    request.fee = fee.amount
    if fee.quote is not None:
        request.fee_item, request.fee_version = fee.quote.item, fee.quote.version
    request.save()
    held = amount + fee.amount
    request.hold_entry = ledger.entry_post(
        kind=JournalEntry.Kind.WITHDRAWAL,
        description=ledger.memo(
            margin_account,
            lambda: (
                _("Withdrawal WD%(id)s to %(bank)s (with fee %(fee)s, %(reference)s)")
                % {
                    "id": request.pk,
                    "bank": bank,
                    "fee": money.yuan(fee.amount),
                    "reference": fee.citation,
                }
                if fee.amount
                else _("Withdrawal WD%(id)s to %(bank)s") % {"id": request.pk, "bank": bank}
            ),
        ),
        value_date=timezone.localdate(),
        lines=[
            (ledger.client_account(margin_account, Kind.CLIENT_CASH), amount),
            *(
                [(ledger.client_account(margin_account, Kind.CLIENT_CASH), fee.amount)]
                if fee.amount
                else []
            ),
            (ledger.house_account(Kind.WITHDRAWALS_PAYABLE), -held),
        ],
        idempotency_key=f"withdrawal-hold:{request.pk}",
        posted_by=client,
    )
    request.save(update_fields=["hold_entry"])
    _withdrawal_audit(request, client, "funds.withdrawal_requested")


def _accepted_today(margin_account: MarginAccount, *, excluding: WithdrawalRequest) -> Decimal:
    """What the client already took out (or asked for) today: splitting one large withdrawal
    into pieces under the threshold still needs the second approval."""
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    total = (
        WithdrawalRequest.objects.filter(
            margin_account=margin_account,
            requested_at__gte=start,
            status__in=[
                WithdrawalRequest.Status.PAID,
                WithdrawalRequest.Status.AWAITING_APPROVAL,
            ],
        )
        .exclude(pk=excluding.pk)
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or ZERO


def _pay(request: WithdrawalRequest, *, actor: Any) -> WithdrawalRequest:
    request.payout_entry = ledger.entry_post(
        kind=JournalEntry.Kind.WITHDRAWAL_PAID,
        description=ledger.memo(
            request.margin_account,
            lambda: (
                _("Payment WD%(id)s to %(bank)s") % {"id": request.pk, "bank": request.bank_account}
            ),
        ),
        value_date=timezone.localdate(),
        lines=[
            (ledger.house_account(Kind.WITHDRAWALS_PAYABLE), request.amount),
            (ledger.house_account(Kind.CUSTODIAN), -request.amount),
        ],
        idempotency_key=f"withdrawal-paid:{request.pk}",
        posted_by=actor,
    )
    if request.fee > 0:
        # The fee is company money: it is earned and leaves the segregated custodian account.
        version, item = request.fee_version, request.fee_item
        assert version is not None and item is not None
        request.fee_entry = ledger.entry_post(
            kind=JournalEntry.Kind.FEE,
            description=ledger.memo(
                request.margin_account,
                lambda: (
                    _("Withdrawal fee WD%(id)s: %(fee)s (%(reference)s)")
                    % {
                        "id": request.pk,
                        "fee": money.yuan(request.fee),
                        "reference": disclosures_citation(version, item),
                    }
                ),
            ),
            value_date=timezone.localdate(),
            lines=[
                (ledger.house_account(Kind.WITHDRAWALS_PAYABLE), request.fee),
                (ledger.house_account(Kind.FEE_INCOME), -request.fee),
                (ledger.house_account(Kind.COMPANY_BANK), request.fee),
                (ledger.house_account(Kind.CUSTODIAN), -request.fee),
            ],
            idempotency_key=f"withdrawal-fee:{request.pk}",
            posted_by=actor,
        )
    WITHDRAWAL.move(request, WithdrawalRequest.Status.PAID)
    request.save(update_fields=["payout_entry", "fee_entry", "status"])
    _withdrawal_audit(request, actor, "funds.withdrawal_paid")
    _withdrawal_notice(request, "funds_withdrawal_paid")
    return request


def _withdrawal_audit(request: WithdrawalRequest, actor: Any, action: str) -> None:
    audit.record(
        actor=actor,
        action=action,
        obj=request,
        data={
            "account": request.margin_account.number,
            "amount": str(request.amount),
            "fee": str(request.fee),
            "fee_item": request.fee_item_id,
            "fee_version": request.fee_version_id,
            "largest_allowed": str(request.largest_allowed),
            "reason": request.reason,
        },
    )


def _withdrawal_notice(request: WithdrawalRequest, key: str) -> None:
    notices.enqueue(
        recipient=request.margin_account.client,
        key=key,
        context={
            "account_number": request.margin_account.number,
            "amount": _yuan(request.amount),
            "largest": _yuan(request.largest_allowed),
            "reason": request.reason,
        },
        idempotency_key=f"funds-withdrawal:{request.pk}:{key}",
    )


class ApprovalError(Refused, ValueError):
    """A staff decision the rules do not allow; the message is shown to the staff member."""

    def __init__(self, message: Any, code: str = "funds.approval") -> None:
        super().__init__(code, message)


def _check_approver(request: WithdrawalRequest, staff: Any) -> None:
    if not staff.has_perm("funds.approve_withdrawalrequest"):
        raise ApprovalError(_("You may not decide on withdrawals."))
    if staff.pk == request.margin_account.client_id:
        raise ApprovalError(_("Nobody may approve their own withdrawal."))
    if request.status != WithdrawalRequest.Status.AWAITING_APPROVAL:
        raise ApprovalError(_("This withdrawal has already been decided."))


@transaction.atomic
def withdrawal_approve(*, withdrawal_id: int, staff: Any) -> WithdrawalRequest:
    """First and second approval of a large withdrawal; two different people, then it is paid."""
    request = (
        WithdrawalRequest.objects.select_for_update(of=("self",))
        .select_related("margin_account__client", "bank_account")
        .get(pk=withdrawal_id)
    )
    _check_approver(request, staff)
    if request.decided_by_id is None:
        request.decided_by, request.decided_at = staff, timezone.now()
        request.save(update_fields=["decided_by", "decided_at"])
        _withdrawal_audit(request, staff, "funds.withdrawal_first_approval")
        return request
    if request.decided_by_id == staff.pk:
        raise ApprovalError(
            _("Four-eyes rule: a second, different staff member must approve this withdrawal.")
        )
    return _pay(request, actor=staff)


@transaction.atomic
def withdrawal_reject(*, withdrawal_id: int, staff: Any, reason: str) -> WithdrawalRequest:
    """Reject a large withdrawal: the held money goes back to the client's cash."""
    reason = (reason or "").strip()
    if not reason:
        raise ApprovalError(_("Say why the withdrawal is rejected."))
    request = (
        WithdrawalRequest.objects.select_for_update(of=("self",))
        .select_related("margin_account__client")
        .get(pk=withdrawal_id)
    )
    _check_approver(request, staff)
    assert request.hold_entry_id is not None
    ledger.entry_reverse(entry_id=request.hold_entry_id, actor=staff, reason=reason)
    request.reason = reason
    request.decided_by, request.decided_at = staff, timezone.now()
    WITHDRAWAL.move(request, WithdrawalRequest.Status.REJECTED)
    request.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    _withdrawal_audit(request, staff, "funds.withdrawal_rejected")
    _withdrawal_notice(request, "funds_withdrawal_rejected")
    return request
