"""A fill of the trading channel in the client-money ledger: one balanced entry per fill.

Debits positive. A buy of value V with financing F (the part of V + costs the cash does not
cover):
    client debt +F, client cash −F; custodian +F, company bank −F   (the financing draw)
    client cash +V, market settlement −V; settlement +V, custodian −V  (paying for the shares)
    per third-party cost (transfer fee): client cash +x, settlement −x; settlement +x, custodian −x
    per company fee (trade fee): client cash +c, fee income −c; company bank +c, custodian −c
A sale of value V:
    settlement +V, client cash −V; per third-party cost (stamp duty, transfer fee): client cash +x,
    settlement −x; custodian +(V − withheld), settlement −(V − withheld); company fees as above;
    the net proceeds repay accrued interest, then debt (client cash +, client interest/debt −;
    company bank +, custodian −), and the rest stays as cash.
Each cost is its own line on the client's cash; the caller learns which line charged which cost.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from funds import ledger
from funds.ledger import Kind
from funds.models import JournalEntry, LedgerAccount, LedgerLine
from margin.models import MarginAccount

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class TradeCost:
    amount: Decimal
    company_fee: bool  # the company's income; otherwise collected for a third party


@dataclass(frozen=True)
class Posted:
    entry_id: int
    cost_line_ids: list[int | None]  # per cost given, the line that charged it to the cash


# No savepoint of its own: its one caller (``trading.services.fill_record``) is one transaction
# that fails whole; a savepoint cost two statements a fill.
@transaction.atomic(savepoint=False)
def trade_fill_post(
    *,
    account: MarginAccount,
    side: str,
    value: Decimal,
    costs: list[TradeCost],
    financed: Decimal = ZERO,
    repaid_interest: Decimal = ZERO,
    repaid_debt: Decimal = ZERO,
    memo: Callable[[], str],
    value_date: datetime.date,
    idempotency_key: str,
) -> Posted:
    """Post one fill; the margin balances follow the entry (``account_balances_apply``). An
    account not yet in the ledger has its balances brought in first (opening balances)."""
    accounts = _ledger_accounts(account, value_date=value_date)

    def client(kind: str) -> LedgerAccount:
        found = accounts.get((account.pk, kind))
        return found if found is not None else ledger.client_account(account, kind)

    def house(kind: str) -> LedgerAccount:
        found = accounts.get((None, kind))
        return found if found is not None else ledger.house_account(kind)

    cash = client(Kind.CLIENT_CASH)
    custodian = house(Kind.CUSTODIAN)
    settlement = house(Kind.MARKET_SETTLEMENT)
    bank = house(Kind.COMPANY_BANK)
    lines: list[tuple[Any, Decimal, int | None]] = []
    if side == "buy":
        if financed > 0:
            lines += [
                (client(Kind.CLIENT_DEBT), financed, None),
                (cash, -financed, None),
                (custodian, financed, None),
                (bank, -financed, None),
            ]
        lines += [(cash, value, None), (settlement, -value, None)]
        lines += [(settlement, value, None), (custodian, -value, None)]
    else:
        withheld = sum((c.amount for c in costs if not c.company_fee), ZERO)
        lines += [(settlement, value, None), (cash, -value, None)]
        if value - withheld > 0:
            lines += [(custodian, value - withheld, None), (settlement, -(value - withheld), None)]
    for index, cost in enumerate(costs):
        if cost.amount <= 0:
            continue
        if cost.company_fee:
            lines += [
                (cash, cost.amount, index),
                (house(Kind.FEE_INCOME), -cost.amount, None),
                (bank, cost.amount, None),
                (custodian, -cost.amount, None),
            ]
        else:
            lines += [(cash, cost.amount, index), (settlement, -cost.amount, None)]
            if side == "buy":  # paid out of the custodian with the purchase
                lines += [(settlement, cost.amount, None), (custodian, -cost.amount, None)]
    repaid = ZERO
    for amount, kind in ((repaid_interest, Kind.CLIENT_INTEREST), (repaid_debt, Kind.CLIENT_DEBT)):
        if amount > 0:
            lines += [(cash, amount, None), (client(kind), -amount, None)]
            repaid += amount
    if repaid > 0:  # repaid money is company money: it leaves the client-money account
        lines += [(bank, repaid, None), (custodian, -repaid, None)]
    entry = ledger.entry_post(
        kind=JournalEntry.Kind.TRADE,
        description=ledger.memo(account, memo),
        value_date=value_date,
        lines=[(acct, amount) for acct, amount, _cost in lines],
        idempotency_key=idempotency_key,
    )
    posted = getattr(entry, "posted_line_ids", None)
    if posted is None or None in posted:  # an entry posted before (the key), or no RETURNING
        posted = list(entry.lines.order_by("pk").values_list("pk", flat=True))
    cost_lines: list[int | None] = [None] * len(costs)
    for position, (_acct, _amount, cost_index) in enumerate(lines):
        if cost_index is not None and position < len(posted):
            cost_lines[cost_index] = posted[position]
    return Posted(entry_id=entry.pk, cost_line_ids=cost_lines)


_ACCOUNT_KINDS = [
    Kind.CLIENT_CASH,
    Kind.CLIENT_DEBT,
    Kind.CLIENT_INTEREST,
    Kind.CUSTODIAN,
    Kind.MARKET_SETTLEMENT,
    Kind.COMPANY_BANK,
    Kind.FEE_INCOME,
]


def _ledger_accounts(
    account: MarginAccount, *, value_date: datetime.date
) -> dict[tuple[int | None, str], LedgerAccount]:
    """The ledger accounts a fill may post to, by (margin account or None, kind), in one query
    (a get_or_create each cost a fill seven); an account not yet in the ledger (none of its
    accounts has a line) has its opening balances brought in first. A kind missing here is
    created by the caller (``ledger.client_account``, ``ledger.house_account``)."""
    rows = list(
        LedgerAccount.objects.filter(
            Q(margin_account=account) | Q(margin_account__isnull=True), kind__in=_ACCOUNT_KINDS
        ).annotate(used=Exists(LedgerLine.objects.filter(account=OuterRef("pk"))))
    )
    opened = any(row.used for row in rows if row.margin_account_id == account.pk)
    if not opened and ledger.open_margin_account(account, value_date=value_date):
        return _ledger_accounts(account, value_date=value_date)
    return {(row.margin_account_id, row.kind): row for row in rows}
