"""Client-money workflows: deposits, withdrawals, daily interest, reconciliation, the risk reserve.

Every movement is a balanced ledger entry (``funds.ledger``); each workflow is audited and the
client is told through the outbox.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from disclosures.models import Basis
from disclosures.selectors import citation as disclosures_citation
from funds import ledger
from funds.ledger import Kind
from funds.models import (
    BankAccount,
    Charge,
    CustodianStatement,
    DepositReference,
    JournalEntry,
    ReconciliationBreak,
    WithdrawalRequest,
)
from margin.models import MarginAccount, MarginCall, MarginContract
from notices import services as notices
from portal import calendars, inputs, money

FEN = ledger.FEN
ZERO = ledger.ZERO
SHANGHAI = calendars.SHANGHAI


_yuan = money.yuan


# --- deposits -------------------------------------------------------------------------------------

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone


def deposit_reference_for(margin_account: MarginAccount) -> DepositReference:
    """The client's deposit reference, created on first use (WR + 8 unambiguous characters)."""
    found = DepositReference.objects.filter(margin_account=margin_account).first()
    if found is not None:
        return found
    while True:
        code = "WR" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _i in range(8))
        if not DepositReference.objects.filter(reference=code).exists():
            return DepositReference.objects.create(margin_account=margin_account, reference=code)


@transaction.atomic
def deposit_credit(
    *,
    margin_account: MarginAccount,
    amount: Decimal,
    value_date: datetime.date,
    bank_reference: str,
    actor: Any = "custodian import",
) -> JournalEntry:
    """Credit a client with money the custodian received for them (once per bank reference)."""
    entry = ledger.entry_post(
        kind=JournalEntry.Kind.DEPOSIT,
        description=ledger.memo(
            margin_account, lambda: _("Deposit %(ref)s") % {"ref": bank_reference}
        ),
        value_date=value_date,
        lines=[
            (ledger.house_account(Kind.CUSTODIAN), amount),
            (ledger.client_account(margin_account, Kind.CLIENT_CASH), -amount),
        ],
        idempotency_key=f"deposit:{bank_reference}",
        posted_by=actor,
    )
    audit.record(
        actor=actor,
        action="funds.deposit_credited",
        obj=entry,
        data={"account": margin_account.number, "amount": str(amount), "bank": bank_reference},
    )
    notices.enqueue(
        recipient=margin_account.client,
        key="funds_deposit_received",
        context={"account_number": margin_account.number, "amount": _yuan(amount)},
        idempotency_key=f"funds-deposit:{bank_reference}",
    )
    return entry


# Crediting money in suspense to a client: funds.suspense.


# --- bank accounts and withdrawals ----------------------------------------------------------------


class BankAccountError(ValueError):
    """A bank account that cannot be used; the message is shown to the client."""


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
    notices.security_alert(user=client, event="bank_account_added", key=str(bank.pk))
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
    margin_account = (
        MarginAccount.objects.select_for_update(of=("self",))
        .select_related("client")
        .get(pk=margin_account_id)
    )
    if margin_account.client_id != client.pk:
        raise MarginAccount.DoesNotExist
    if idempotency_key:
        # Checked under the account's row lock: a concurrent replay waits, then finds this one.
        earlier = WithdrawalRequest.objects.filter(
            margin_account=margin_account, idempotency_key=idempotency_key
        ).first()
        if earlier is not None:
            return earlier
    bank = BankAccount.objects.filter(pk=bank_account_id, client=client).first()
    limit = withdrawal_limit(margin_account)
    reason = ""
    if bank is None or bank.verified_at is None:
        reason = _("Withdrawals go only to a verified bank account in your own name.")
    elif amount <= 0 or amount != amount.quantize(FEN):
        reason = _("Enter an amount above zero, in yuan and fen.")
    elif amount > limit.largest:
        reason = limit.reason or _("That is more than the cash available.")
    request = WithdrawalRequest(
        margin_account=margin_account,
        bank_account=bank,
        amount=amount.quantize(FEN) if amount == amount else ZERO,
        largest_allowed=limit.largest,
        idempotency_key=idempotency_key or None,
    )
    if reason:
        request.status, request.reason = WithdrawalRequest.Status.REFUSED, reason
        request.save()
        _withdrawal_audit(request, client, "funds.withdrawal_refused")
        _withdrawal_notice(request, "funds_withdrawal_refused")
        return request
    fee = withdrawal_fee()
    request.status = WithdrawalRequest.Status.AWAITING_APPROVAL
    request.fee = fee.amount
    if fee.quote is not None:
        request.fee_item, request.fee_version = fee.quote.item, fee.quote.version
    request.save()
    # The amount and its fee leave the client's cash together; the fee is charged when paid.
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
    if amount + _accepted_today(margin_account, excluding=request) > _threshold():
        _withdrawal_notice(request, "funds_withdrawal_pending")
        return request
    return _pay(request, actor=client)


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
    request.status = WithdrawalRequest.Status.PAID
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


class ApprovalError(ValueError):
    """A staff decision the rules do not allow; the message is shown to the staff member."""


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
    request.status, request.reason = WithdrawalRequest.Status.REJECTED, reason
    request.decided_by, request.decided_at = staff, timezone.now()
    request.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    _withdrawal_audit(request, staff, "funds.withdrawal_rejected")
    _withdrawal_notice(request, "funds_withdrawal_rejected")
    return request


# --- interest -------------------------------------------------------------------------------------


def _end_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(23, 59, 59), SHANGHAI)


def days_to_accrue(trading_day: datetime.date) -> list[datetime.date]:
    """The calendar days a trading day's accrual covers: those after the previous trading day.

    Interest runs every calendar day; the run at Monday's close charges Saturday, Sunday and
    Monday, each as its own day at the rate in force that day.
    """
    calendar = calendars.trading_calendar()
    day = trading_day - datetime.timedelta(days=1)
    days = [trading_day]
    while not calendar.is_working_day(day) and len(days) < 15:
        days.insert(0, day)
        day -= datetime.timedelta(days=1)
    return days


def daily_charge(amount: Decimal, rate: Decimal, basis: str = "annual_360") -> Decimal:
    """One day's interest, as ``portal.money`` computes every day's interest."""
    return money.daily_interest(amount, rate, basis)


def _overdue(
    account: MarginAccount, contract: MarginContract | None, day: datetime.date
) -> Decimal:
    # Debt past its contract's rollover date is overdue until rolled over or repaid.
    if contract is not None and contract.rollover_on < day:
        return account.debt
    return ZERO


@transaction.atomic
def _charge(
    account: MarginAccount, kind: str, day: datetime.date, basis: Decimal, quote: Any
) -> Charge | None:
    if Charge.objects.filter(margin_account=account, kind=kind, day=day).exists():
        return None
    amount = daily_charge(basis, quote.value, quote.basis)
    if amount == 0:
        return None
    income = ledger.house_account(Kind.INTEREST_INCOME)
    receivable = ledger.client_account(account, Kind.CLIENT_INTEREST)
    entry = ledger.entry_post(
        kind=JournalEntry.Kind.INTEREST
        if kind == Charge.Kind.INTEREST
        else JournalEntry.Kind.PENALTY,
        description=ledger.memo(
            account,
            lambda: (
                _("%(day)s %(kind)s on ¥%(basis)s at %(rate)s, %(rule)s (%(reference)s)")
                % {
                    "day": day,
                    "kind": Charge.Kind(kind).label,
                    "basis": money.yuan(basis),
                    "rate": money.rate_percent(quote.value),
                    "rule": Basis(quote.basis).label,
                    "reference": quote.citation,
                }
            ),
        ),
        value_date=day,
        lines=[(receivable, amount), (income, -amount)],
        idempotency_key=f"{kind}:{account.number}:{day.isoformat()}",
    )
    return Charge.objects.create(
        margin_account=account,
        kind=kind,
        day=day,
        basis_amount=basis,
        annual_rate=quote.value,  # as published, on the item's basis
        amount=amount,
        fee_item=quote.item,
        disclosure_version=quote.version,
        reference=quote.reference,
        entry=entry,
    )


def interest_accrue(*, trading_day: datetime.date) -> list[Charge]:
    """Accrue interest (and penalty interest) on every account's debt for a trading day's run.

    Each account-day-kind is charged once (a unique Charge row), so running again changes
    nothing. The rate is the contract's: the one it was opened or last rolled over under (or
    that its client accepted since), in effect at the end of the day charged, never the fee
    schedule in force; penalty interest comes from the same fee schedule version. Every charge
    names its fee item and disclosure version. An account without an active contract pays the
    schedule in force (it has no terms of its own to keep). A missing rate stops the run loudly:
    charging nothing would be silent.
    """
    from disclosures.selectors import financing_rate_in_force, penalty_rate_in_force
    from margin.contracts import ContractRates

    charges: list[Charge] = []
    days = days_to_accrue(trading_day)
    accounts = MarginAccount.objects.filter(debt__gt=0).order_by("pk")
    for account in accounts:
        contract = account.contracts.filter(status=MarginContract.Status.ACTIVE).first()
        rates = ContractRates(contract) if contract is not None else None
        for day in days:
            moment = _end_of(day)
            quote = rates.interest_quote(moment) if rates else financing_rate_in_force(1, moment)
            charge = _charge(account, Charge.Kind.INTEREST, day, account.debt, quote)
            if charge:
                charges.append(charge)
            overdue = _overdue(account, contract, day)
            if overdue > 0:
                penalty = rates.penalty_quote(moment) if rates else penalty_rate_in_force(moment)
                charge = _charge(account, Charge.Kind.PENALTY, day, overdue, penalty)
                if charge:
                    charges.append(charge)
    return charges


# --- reconciliation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReconciliationResult:
    day: datetime.date
    custodian_ledger: Decimal
    custodian_bank: Decimal | None
    client_money_owed: Decimal
    open_breaks: int


def _observe(kind: str, subject: str, expected: Decimal, actual: Decimal, day, seen: set) -> None:
    if expected == actual:
        return
    found = ReconciliationBreak.objects.filter(
        kind=kind, subject=subject, resolved_on__isnull=True
    ).first()
    if found is None:
        found = ReconciliationBreak.objects.create(
            kind=kind,
            subject=subject,
            expected=expected,
            actual=actual,
            first_seen_on=day,
            last_seen_on=day,
        )
        audit.record(
            actor="reconciliation",
            action="funds.break_opened",
            obj=found,
            data={"kind": kind, "subject": subject, "ledger": str(expected), "other": str(actual)},
        )
        _alert_staff(found)
    else:
        found.expected, found.actual, found.last_seen_on = expected, actual, day
        found.save(update_fields=["expected", "actual", "last_seen_on"])
    seen.add(found.pk)


def _alert_staff(found: ReconciliationBreak) -> None:
    users = (
        get_user_model()
        .objects.filter(groups__name__in=["compliance", "risk_officer"], is_active=True)
        .distinct()
    )
    for user in users:
        notices.enqueue(
            recipient=user,
            key="funds_reconciliation_break",
            context={
                "kind": str(found.get_kind_display()),
                "subject": found.subject,
                "ledger": _yuan(found.expected),
                "other": _yuan(found.actual),
                "difference": _yuan(found.difference),
            },
            idempotency_key=f"funds-break:{found.pk}:{user.pk}",
        )


@transaction.atomic
def reconciliation_run(*, day: datetime.date) -> ReconciliationResult:
    """Compare the ledger with the custodian's statement for ``day`` and with margin balances.

    Breaks: the custodian's closing balance against the ledger's custodian account; client money
    held (the closing balance) against client money owed (client cash, withdrawals payable,
    suspense) — a break of one fen alerts compliance and risk; and each margin balance against its
    ledger account. A break not seen again is cleared.
    """
    seen: set[int] = set()
    custodian = ledger.balance(ledger.house_account(Kind.CUSTODIAN), until=day)
    owed = ledger.kind_total(ledger.LedgerAccount.CLIENT_MONEY_OWED, until=day)
    statement = CustodianStatement.objects.filter(statement_date=day).first()
    bank = statement.closing_balance if statement else None
    if bank is not None:
        _observe("custodian_balance", "", custodian, bank, day, seen)
        _observe("client_money", "", owed, bank, day, seen)
    for account in MarginAccount.objects.filter(ledger_accounts__isnull=False).distinct():
        for kind, (field, _sign) in ledger._MARGIN_FIELD.items():
            ledger_account = ledger.client_account(account, kind)
            _observe(
                "margin_balance",
                f"{account.number}:{field}",
                ledger.balance(ledger_account),
                getattr(account, field),
                day,
                seen,
            )
    stale = ReconciliationBreak.objects.filter(resolved_on__isnull=True).exclude(pk__in=seen)
    if (
        bank is None
    ):  # no statement for the day: the bank-side breaks can be neither seen nor cleared
        stale = stale.exclude(kind__in=["custodian_balance", "client_money"])
    stale.update(resolved_on=day)
    return ReconciliationResult(
        day=day,
        custodian_ledger=custodian,
        custodian_bank=bank,
        client_money_owed=owed,
        open_breaks=ReconciliationBreak.objects.filter(resolved_on__isnull=True).count(),
    )


# --- the risk reserve -----------------------------------------------------------------------------


@transaction.atomic
def risk_reserve_fund(*, amount: Decimal, actor: Any) -> JournalEntry:
    """Set company money aside in the risk reserve (from the company's own bank). Audited."""
    entry = ledger.entry_post(
        kind=JournalEntry.Kind.RESERVE,
        description=ledger.memo(None, lambda: _("Transfer to the risk reserve")),
        value_date=timezone.localdate(),
        lines=[
            (ledger.house_account(Kind.COMPANY_BANK), amount),
            (ledger.house_account(Kind.RISK_RESERVE), -amount),
        ],
        posted_by=actor,
    )
    audit.record(
        actor=actor, action="funds.reserve_funded", obj=entry, data={"amount": str(amount)}
    )
    return entry


@dataclass(frozen=True)
class ReserveCheck:
    reserve: Decimal
    financing: Decimal
    required: Decimal

    @property
    def short(self) -> bool:
        return self.reserve < self.required


def risk_reserve_check(*, day: datetime.date | None = None) -> ReserveCheck:
    """Compare the reserve with its policy share of total financing; alert staff when short."""
    day = day or timezone.localdate()
    reserve = ledger.balance(ledger.house_account(Kind.RISK_RESERVE))
    financing = ledger.kind_total([Kind.CLIENT_DEBT])
    required = (financing * Decimal(settings.FUNDS_RISK_RESERVE_SHARE)).quantize(FEN)
    check = ReserveCheck(reserve=reserve, financing=financing, required=required)
    if check.short:
        with transaction.atomic():
            audit.record(
                actor="reserve check",
                action="funds.reserve_short",
                object_type="funds.risk_reserve",
                object_id=day.isoformat(),
                data={"reserve": str(reserve), "required": str(required)},
            )
            users = (
                get_user_model()
                .objects.filter(groups__name__in=["compliance", "risk_officer"], is_active=True)
                .distinct()
            )
            for user in users:
                notices.enqueue(
                    recipient=user,
                    key="funds_reserve_low",
                    context={
                        "reserve": _yuan(reserve),
                        "required": _yuan(required),
                        "financing": _yuan(financing),
                    },
                    idempotency_key=f"funds-reserve:{day.isoformat()}:{user.pk}",
                )
    return check
