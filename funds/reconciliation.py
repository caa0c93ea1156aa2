"""The daily reconciliation of the ledger against the custodian and the margin balances."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

import audit
from funds import ledger
from funds.amounts import _yuan
from funds.ledger import Kind
from funds.models import (
    CustodianStatement,
    ReconciliationBreak,
)
from margin.models import MarginAccount
from notices import services as notices

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
