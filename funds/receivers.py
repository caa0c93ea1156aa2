"""Funds answers other apps' signals: margin's forced-liquidation fills go through the ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from funds import ledger
from funds.ledger import Kind
from funds.models import JournalEntry, LedgerLine
from margin.models import MarginAccount

# Which client ledger account a repayment of each margin balance credits.
_REPAID_KIND = {
    "fees_owed": Kind.CLIENT_FEES,
    "accrued_interest": Kind.CLIENT_INTEREST,
    "debt": Kind.CLIENT_DEBT,
}


@transaction.atomic
def liquidation_filled(
    sender: Any, *, plan: Any, account_id: int, proceeds: Decimal, repaid: dict, **kwargs: Any
) -> bool:
    """Post a forced liquidation as one balanced entry; the margin balances follow it.

    The sale proceeds settle from the market into the custodian and are credited to the client's
    cash; the cash then repays fees, interest and debt (in that order, the amounts margin worked
    out), and what is repaid leaves the segregated custodian account for the company's bank.
    An account not yet in the ledger has its balances brought in first (opening balances).
    """
    account = MarginAccount.objects.get(pk=account_id)
    today = timezone.localdate()
    if not LedgerLine.objects.filter(account__margin_account=account).exists():
        ledger.open_margin_account(account, value_date=today)
    lines: list[tuple[ledger.LedgerAccount, Decimal]] = []
    if proceeds > 0:
        settlement = ledger.house_account(Kind.MARKET_SETTLEMENT)
        lines += [
            (settlement, proceeds),  # the shares sold: the market owes the proceeds
            (ledger.client_account(account, Kind.CLIENT_CASH), -proceeds),
            (ledger.house_account(Kind.CUSTODIAN), proceeds),  # settled into the custodian
            (settlement, -proceeds),
        ]
    total = Decimal("0.00")
    for field in ("fees_owed", "accrued_interest", "debt"):
        amount = repaid.get(field, Decimal("0.00"))
        if amount > 0:
            lines += [
                (ledger.client_account(account, Kind.CLIENT_CASH), amount),
                (ledger.client_account(account, _REPAID_KIND[field]), -amount),
            ]
            total += amount
    if total > 0:  # repaid money is company money: it leaves the client-money account
        lines += [
            (ledger.house_account(Kind.COMPANY_BANK), total),
            (ledger.house_account(Kind.CUSTODIAN), -total),
        ]
    if not lines:
        return True
    entry = ledger.entry_post(
        kind=JournalEntry.Kind.TRADE,
        description=ledger.memo(
            account,
            lambda: (
                _(
                    "Forced liquidation plan #%(plan)s of %(account)s: proceeds %(proceeds)s; "
                    "repaid fees %(fees)s, interest %(interest)s, debt %(debt)s"
                )
                % {
                    "plan": plan.pk,
                    "account": account.number,
                    "proceeds": proceeds,
                    "fees": repaid.get("fees_owed", 0),
                    "interest": repaid.get("accrued_interest", 0),
                    "debt": repaid.get("debt", 0),
                }
            ),
        ),
        value_date=today,
        lines=lines,
        idempotency_key=f"liquidation:{plan.pk}",
    )
    audit.record(
        actor="risk engine",
        action="funds.liquidation_posted",
        obj=entry,
        data={
            "plan": plan.pk,
            "account": account.number,
            "proceeds": str(proceeds),
            "repaid": {field: str(amount) for field, amount in repaid.items()},
        },
    )
    return True
