"""Forced-liquidation fills in the client-money ledger: one balanced entry per executed plan.

Funds keeps the books (``margin.books``): the entry moves the margin balances through
``account_balances_apply``, so margin does not move them itself.
"""

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
def liquidation_fill_post(
    *,
    plan: Any,
    account_id: int,
    proceeds: Decimal,
    repaid: dict,
    costs: dict | None = None,
    cost_references: dict | None = None,
) -> JournalEntry | None:
    """Post a forced liquidation as one balanced entry; the margin balances follow it.

    The sale proceeds are credited to the client's cash, and the selling costs debited from it:
    the trade service fee is the company's fee income, stamp duty and the transfer fee are
    withheld by the market, which settles the rest into the custodian. The cash then repays
    fees, interest and debt (in that order, the amounts margin worked out), and what is repaid,
    with the fee income, leaves the segregated custodian account for the company's bank. An
    account not yet in the ledger has its balances brought in first (opening balances).
    """
    account = MarginAccount.objects.get(pk=account_id)
    today = timezone.localdate()
    if not LedgerLine.objects.filter(account__margin_account=account).exists():
        ledger.open_margin_account(account, value_date=today)
    costs = costs or {}
    commission = costs.get("commission", Decimal("0.00"))
    withheld = costs.get("stamp_duty", Decimal("0.00")) + costs.get("transfer_fee", Decimal("0.00"))
    lines: list[tuple[ledger.LedgerAccount, Decimal]] = []
    if proceeds > 0:
        settlement = ledger.house_account(Kind.MARKET_SETTLEMENT)
        custodian = ledger.house_account(Kind.CUSTODIAN)
        cash = ledger.client_account(account, Kind.CLIENT_CASH)
        lines += [
            (settlement, proceeds),  # the shares sold: the market owes the proceeds
            (cash, -proceeds),
        ]
        if commission > 0:  # the trade service fee: company income, moved to its bank
            lines += [
                (cash, commission),
                (ledger.house_account(Kind.FEE_INCOME), -commission),
                (ledger.house_account(Kind.COMPANY_BANK), commission),
                (custodian, -commission),
            ]
        if withheld > 0:  # stamp duty and transfer fee: withheld by the market
            lines += [(cash, withheld), (settlement, -withheld)]
        if proceeds - withheld > 0:
            lines += [
                (custodian, proceeds - withheld),  # settled into the custodian
                (settlement, -(proceeds - withheld)),
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
        return None
    entry = ledger.entry_post(
        kind=JournalEntry.Kind.TRADE,
        description=ledger.memo(
            account,
            lambda: (
                _(
                    "Forced liquidation plan #%(plan)s of %(account)s: proceeds %(proceeds)s, "
                    "selling costs %(costs)s; repaid fees %(fees)s, interest %(interest)s, "
                    "debt %(debt)s"
                )
                % {
                    "plan": plan.pk,
                    "account": account.number,
                    "proceeds": proceeds,
                    "costs": commission + withheld,
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
            "costs": {name: str(amount) for name, amount in costs.items()},
            "cost_references": cost_references or {},
            "repaid": {field: str(amount) for field, amount in repaid.items()},
        },
    )
    return entry
